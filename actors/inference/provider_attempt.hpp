#pragma once
/// One HTTP attempt of a provider call: a curl easy handle set up from the
/// call (URL, headers, body, timeouts, no redirects) for a multi handle to
/// drive. Its write callback hands a 2xx stream to the call as it comes and
/// keeps any other body, within the call's size cap.
///
/// Threads: the pool thread that owns the multi handle.
#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>

#include "actors/inference/openai_call.hpp"

namespace troupe::inference {

class provider_attempt {
public:
  using clock = std::chrono::steady_clock;

  /// The call must outlive the attempt. easy() is null when curl cannot
  /// make a handle; outcome() then says so.
  explicit provider_attempt(openai_call& call);
  /// Must be removed from its multi handle first.
  ~provider_attempt();
  provider_attempt(const provider_attempt&) = delete;
  provider_attempt& operator=(const provider_attempt&) = delete;

  CURL* easy() const noexcept { return easy_; }

  /// When the last byte of the answer came; the attempt's start before any.
  clock::time_point last_bytes() const noexcept { return last_bytes_; }

  /// What the attempt came to: `code` as curl finished it (CURLE_OK when the
  /// pool stopped it first, for `aborted`). Call once, before the handle
  /// leaves its multi handle.
  [[nodiscard]] attempt_outcome outcome(CURLcode code, abort_reason aborted);

private:
  static size_t on_body(char* data, size_t size, size_t n, void* self);
  size_t take(std::string_view bytes);

  openai_call& call_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  std::string body_;
  caf::error sink_error_;
  abort_reason aborted_ = abort_reason::none;
  clock::time_point last_bytes_ = clock::now();
  long status_ = -1; // read at the first body byte, when the headers are in
};

} // namespace troupe::inference
