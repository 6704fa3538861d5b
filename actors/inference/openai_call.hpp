#pragma once
/// One generation by an OpenAI-compatible Chat Completions provider, apart
/// from the thread and the curl handles that carry it (provider_pool and
/// provider_attempt do): the request it sends, what it does with the bytes
/// of a streamed answer, the verdict on each attempt and the result.
///
/// Never follows redirects. Retries connect failures, 429 and 5xx with
/// exponential backoff (or the provider's Retry-After seconds, capped), and
/// only before any byte of an answer reached the caller. The API key goes
/// only into the Authorization header: never into logs or errors.
///
/// Threads: one thread at a time (the pool thread that runs the call).
#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "actors/inference/errc.hpp"
#include "actors/inference/model_backend.hpp"
#include "actors/inference/openai_wire.hpp"
#include "actors/inference/sse_parser.hpp"

namespace troupe::inference {

struct openai_options {
  std::string provider = "openai"; ///< the name results and errors carry
  std::string base_url;            ///< e.g. "http://127.0.0.1:8080/v1"; http and https only
  std::string api_key;             ///< empty for local providers that take none
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{300'000}; ///< one attempt, start to last byte
  std::chrono::milliseconds idle_timeout{60'000};     ///< a stream without a byte this long
  unsigned max_retries = 2;                           ///< attempts = max_retries + 1
  std::chrono::milliseconds backoff_initial{500};     ///< doubles per retry ...
  std::chrono::milliseconds backoff_max{8'000};       ///< ... up to this
  std::chrono::milliseconds retry_after_max{30'000};  ///< cap on the provider's Retry-After
  size_t max_response_bytes = size_t{16} << 20;       ///< a non-streamed body
  size_t max_event_bytes = size_t{1} << 20;           ///< one SSE event of a stream
};

/// Why an attempt stopped before curl finished it.
enum class abort_reason { none, idle, too_large, sink_failed };

/// What one attempt came to, as the transport saw it.
struct attempt_outcome {
  CURLcode code = CURLE_OK;
  abort_reason aborted = abort_reason::none;
  caf::error sink_error; // why on_stream_bytes refused (sink_failed)
  long status = 0;       // 0: no response came
  bool sent = false;     // the request left: the connection was made
  std::string body;      // a non-2xx body, or a 2xx one that is not streamed
  std::string curl_message;
  std::string location; // of a redirect
  std::optional<long> retry_after_s;
};

using generate_result = caf::expected<troupe::v1::GenerateResult>;

/// The next attempt is due after `delay`.
struct retry_in {
  std::chrono::milliseconds delay;
};

/// What follows an attempt: the call's end (its result or error) or a retry.
using next_step = std::variant<generate_result, retry_in>;

class openai_call {
public:
  /// POST {base_url}/chat/completions for `req` with `model` (the provider's
  /// own model name); streams (SSE) when `on_delta` is set.
  openai_call(openai_options opts, std::shared_ptr<const troupe::v1::GenerateRequest> req,
              std::string model, delta_fn on_delta);

  /// Builds the request before any network call: errc::invalid_request for
  /// one no provider could take (the call ends with it).
  [[nodiscard]] caf::error prepare();

  const openai_options& options() const noexcept { return opts_; }
  const std::string& url() const noexcept { return url_; }
  const std::string& body() const noexcept { return body_; }
  bool streaming() const noexcept { return static_cast<bool>(on_delta_); }
  /// "Name: value" lines, the Authorization header among them.
  std::vector<std::string> headers() const;

  /// Bytes of a 2xx streamed answer as they come; each content delta goes
  /// to on_delta. An error aborts the attempt (sink_failed).
  [[nodiscard]] caf::error on_stream_bytes(std::string_view bytes);

  /// The verdict on an attempt that ended. Errors: redirect_refused,
  /// provider_error (4xx; 401/403 name the key), backend_unavailable
  /// (retries exhausted, or the connection broke mid-answer), timeout,
  /// malformed_response.
  [[nodiscard]] next_step after(attempt_outcome& a);

  /// The error a call the caller cancelled ends with.
  [[nodiscard]] caf::error cancelled() const;

private:
  generate_result finish(std::string body);
  /// `text` with every occurrence of the API key replaced.
  std::string scrub(std::string text) const;
  /// An error of this provider, with the API key scrubbed from `what`.
  caf::error fail(errc code, std::string what) const;
  caf::error fail(const caf::error& err) const;

  openai_options opts_;
  std::shared_ptr<const troupe::v1::GenerateRequest> req_;
  std::string model_;
  delta_fn on_delta_;
  std::string url_;
  std::string body_;
  unsigned attempts_ = 0;
  sse_parser parser_;
  openai::stream_assembler assembler_;
  caf::error event_error_;
};

} // namespace troupe::inference
