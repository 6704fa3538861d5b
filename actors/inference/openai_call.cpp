#include "actors/inference/openai_call.hpp"

#include <caf/message.hpp>

#include <algorithm>
#include <random>

#include "common/logging.hpp"

namespace troupe::inference {

namespace {

using std::chrono::milliseconds;

/// The verdict on one attempt: the body, a final error, or a failure worth
/// retrying, described for the log and the give-up message.
struct retry_t {
  std::string why;
  std::optional<long> retry_after_s;
};
using verdict = std::variant<std::string, caf::error, retry_t>;

verdict judge(attempt_outcome& a, const openai_options& o) {
  switch (a.aborted) {
  case abort_reason::idle:
    return make_error(errc::timeout, "the stream sent nothing for "
                                         + std::to_string(o.idle_timeout.count()) + " ms");
  case abort_reason::too_large:
    return make_error(errc::malformed_response,
                      "the answer exceeds " + std::to_string(o.max_response_bytes) + " bytes");
  case abort_reason::sink_failed:
    return std::move(a.sink_error);
  case abort_reason::none:
    break;
  }
  if (a.code == CURLE_OPERATION_TIMEDOUT) {
    if (!a.sent)
      return retry_t{"connect timed out: " + a.curl_message, std::nullopt};
    return make_error(errc::timeout, "no complete answer within "
                                         + std::to_string(o.request_timeout.count()) + " ms");
  }
  if (a.code == CURLE_URL_MALFORMAT || a.code == CURLE_UNSUPPORTED_PROTOCOL)
    return make_error(errc::backend_unavailable, "unusable base_url: " + a.curl_message);
  if (a.status == 0)
    return retry_t{"no answer: " + a.curl_message, std::nullopt};
  auto http = "HTTP " + std::to_string(a.status);
  if (a.status / 100 == 2) {
    if (a.code != CURLE_OK)
      return make_error(errc::backend_unavailable, "the answer broke off: " + a.curl_message);
    return std::move(a.body);
  }
  if (a.status / 100 == 3)
    return make_error(errc::redirect_refused,
                      http + (a.location.empty() ? "" : " to " + a.location)
                          + ": redirects from a provider are never followed");
  auto said = openai::error_message(a.body);
  if (a.status == 429 || a.status / 100 == 5)
    return retry_t{http + ": " + said, a.retry_after_s};
  if (a.status == 401 || a.status == 403)
    return make_error(errc::provider_error, http + ": " + said + "; check the provider key");
  return make_error(errc::provider_error, http + ": " + said);
}

std::string context_text(const caf::error& err) {
  const auto& ctx = err.context();
  return ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : std::string{};
}

milliseconds backoff(const openai_options& o, unsigned retry) {
  auto d = o.backoff_initial;
  for (unsigned i = 0; i < retry && d < o.backoff_max; ++i)
    d *= 2;
  d = std::min(d, o.backoff_max);
  // Half fixed, half random: clients that failed together retry apart.
  thread_local std::minstd_rand rng{std::random_device{}()};
  auto half = d.count() / 2;
  return milliseconds{half + std::uniform_int_distribution<int64_t>{0, half}(rng)};
}

std::string join_url(const std::string& base, const std::string& path) {
  auto end = base.find_last_not_of('/');
  return base.substr(0, end == std::string::npos ? 0 : end + 1) + path;
}

} // namespace

openai_call::openai_call(openai_options opts,
                         std::shared_ptr<const troupe::v1::GenerateRequest> req, std::string model,
                         delta_fn on_delta)
    : opts_(std::move(opts)), req_(std::move(req)), model_(std::move(model)),
      on_delta_(std::move(on_delta)), parser_(opts_.max_event_bytes) {}

caf::error openai_call::prepare() {
  auto body = openai::request_body(*req_, model_, streaming());
  if (!body)
    return fail(body.error());
  body_ = std::move(*body);
  url_ = join_url(opts_.base_url, "/chat/completions");
  return {};
}

std::vector<std::string> openai_call::headers() const {
  std::vector<std::string> out{streaming() ? "Accept: text/event-stream"
                                           : "Accept: application/json",
                               "Expect:", // no 100-continue round trip for large bodies
                               "Content-Type: application/json"};
  if (!opts_.api_key.empty())
    out.push_back("Authorization: Bearer " + opts_.api_key);
  return out;
}

caf::error openai_call::on_stream_bytes(std::string_view bytes) {
  auto err = parser_.feed(bytes, [this](const sse_event& ev) {
    if (!event_error_)
      event_error_ = assembler_.add(ev.data, on_delta_);
  });
  return err ? std::move(err) : event_error_;
}

next_step openai_call::after(attempt_outcome& a) {
  auto attempt_no = attempts_++;
  auto v = judge(a, opts_);
  if (auto* body = std::get_if<std::string>(&v))
    return finish(std::move(*body));
  if (auto* err = std::get_if<caf::error>(&v))
    return generate_result{fail(*err)};
  auto& r = std::get<retry_t>(v);
  if (attempt_no >= opts_.max_retries)
    return generate_result{
        fail(errc::backend_unavailable,
             "gave up after " + std::to_string(attempt_no + 1) + " attempts; last: " + r.why)};
  auto delay = r.retry_after_s ? std::min<milliseconds>(std::chrono::seconds{*r.retry_after_s},
                                                        opts_.retry_after_max)
                               : backoff(opts_, attempt_no);
  log::get("inference")
      ->warn("provider {} attempt {} failed, retrying in {} ms: {}", opts_.provider,
             attempt_no + 1, delay.count(), scrub(r.why));
  return retry_in{delay};
}

caf::error openai_call::cancelled() const {
  return fail(errc::cancelled, "the caller cancelled the request");
}

generate_result openai_call::finish(std::string body) {
  generate_result result{troupe::v1::GenerateResult{}};
  if (streaming()) {
    if (!assembler_.complete())
      return fail(errc::malformed_response, "the stream ended before [DONE]");
    result = assembler_.take();
  } else {
    result = openai::parse_completion(body);
    if (!result)
      return fail(result.error());
  }
  if (result->model().empty())
    result->set_model(model_);
  result->set_provider(opts_.provider);
  return result;
}

std::string openai_call::scrub(std::string text) const {
  // A provider may echo the key it was given; it never leaves this object.
  if (!opts_.api_key.empty())
    for (auto at = text.find(opts_.api_key); at != std::string::npos;
         at = text.find(opts_.api_key, at))
      text.replace(at, opts_.api_key.size(), "[redacted]");
  return text;
}

caf::error openai_call::fail(errc code, std::string what) const {
  return make_error(code, "provider " + opts_.provider + ": " + scrub(std::move(what)));
}

caf::error openai_call::fail(const caf::error& err) const {
  return fail(static_cast<errc>(err.code()), context_text(err));
}

} // namespace troupe::inference
