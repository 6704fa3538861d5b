#pragma once
/// A client for an OpenAI-compatible Chat Completions provider over libcurl.
///
/// Threads: calls block (run them on a detached actor or a thread); the
/// object is immutable after construction and every call makes its own curl
/// handles, so any number of threads may call one client at once. Calls do
/// not share connections: a TLS handshake per call is small beside a
/// generation.
///
/// Never follows redirects. Retries connect failures, 429 and 5xx with
/// exponential backoff (or the provider's Retry-After seconds, capped), and
/// only before any byte of an answer reached the caller. The API key goes
/// only into the Authorization header: never into logs or errors.
#include <chrono>
#include <cstddef>
#include <string>

#include "actors/inference/errc.hpp"
#include "actors/inference/model_backend.hpp"

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

class openai_client final : public model_backend {
public:
  explicit openai_client(openai_options opts);

  /// POST {base_url}/chat/completions; streams (SSE) when `on_delta` is set.
  /// Errors: invalid_request (before any network call), redirect_refused,
  /// provider_error (4xx; 401/403 name the key), backend_unavailable
  /// (retries exhausted, or the connection broke mid-answer), timeout,
  /// malformed_response, cancelled.
  caf::expected<troupe::v1::GenerateResult> generate(const troupe::v1::GenerateRequest& req,
                                                     const std::string& model,
                                                     const delta_fn& on_delta,
                                                     const std::atomic<bool>* cancel) override;

  /// GET {base_url}/models: a probe that the provider answers and the key works.
  caf::expected<std::vector<troupe::v1::ModelInfo>> list_models() override;

  const openai_options& options() const noexcept { return opts_; }

private:
  /// Receives the bytes of a 2xx body as they come; an error aborts.
  using body_sink = std::function<caf::error(std::string_view)>;

  /// One HTTP exchange with retries: the 2xx body (empty when `sink` took it).
  caf::expected<std::string> exchange(const std::string& path, const std::string* post_body,
                                      const body_sink* sink, const std::atomic<bool>* cancel) const;

  /// `text` with every occurrence of the API key replaced.
  std::string scrub(std::string text) const;
  /// An error of this provider, with the API key scrubbed from `what`.
  caf::error fail(errc code, std::string what) const;
  caf::error fail(const caf::error& err) const;

  openai_options opts_;
};

} // namespace troupe::inference
