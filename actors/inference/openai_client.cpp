#include "actors/inference/openai_client.hpp"

#include <caf/message.hpp>
#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <variant>

#include "actors/inference/openai_wire.hpp"
#include "actors/inference/sse_parser.hpp"
#include "common/logging.hpp"

namespace troupe::inference {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// How often a transfer wakes to look at the cancel flag and the idle timer
/// when no bytes arrive.
constexpr milliseconds poll_slice{20};

template <auto Fn> struct deleter {
  template <class T> void operator()(T* p) const noexcept { Fn(p); }
};
using easy_ptr = std::unique_ptr<CURL, deleter<curl_easy_cleanup>>;
using multi_ptr = std::unique_ptr<CURLM, deleter<curl_multi_cleanup>>;
using slist_ptr = std::unique_ptr<curl_slist, deleter<curl_slist_free_all>>;

void global_init_once() {
  // Thread-safe since libcurl 7.84; still done once, before any handle.
  static const bool done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)done;
}

bool cancelled(const std::atomic<bool>* cancel) {
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

enum class abort_reason { none, cancelled, idle, too_large, sink_failed };

/// What one attempt's callbacks share with the loop that drives it.
struct transfer {
  CURL* easy = nullptr;
  const std::function<caf::error(std::string_view)>* sink = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  size_t max_body = 0;
  std::string body; // a non-2xx body, or a 2xx one nobody streams
  caf::error sink_error;
  abort_reason aborted = abort_reason::none;
  clock::time_point last_bytes = clock::now();
  long status = -1; // read at the first body byte, when the headers are in
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const size_t len = size * n;
  t.last_bytes = clock::now();
  if (cancelled(t.cancel)) {
    t.aborted = abort_reason::cancelled;
    return 0; // a short count makes libcurl abort the transfer
  }
  if (t.status < 0)
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &t.status);
  if (t.sink != nullptr && t.status / 100 == 2) {
    if (auto err = (*t.sink)({data, len})) {
      t.sink_error = std::move(err);
      t.aborted = abort_reason::sink_failed;
      return 0;
    }
    return len;
  }
  if (t.body.size() + len > t.max_body) {
    t.aborted = abort_reason::too_large;
    return 0;
  }
  t.body.append(data, len);
  return len;
}

/// One attempt, as seen from outside.
struct attempt {
  CURLcode code = CURLE_OK;
  abort_reason aborted = abort_reason::none;
  caf::error sink_error;
  long status = 0;   // 0: no response came
  bool sent = false; // the request left: the connection was made
  std::string body;
  std::string curl_message;
  std::string location; // of a redirect
  std::optional<long> retry_after_s;
};

std::optional<long> retry_after_seconds(CURL* easy) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
    return std::nullopt;
  std::string_view v{h->value};
  long s = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  // Only delta-seconds; an HTTP date falls back to our own backoff.
  if (ec != std::errc{} || end != v.data() + v.size() || s < 0)
    return std::nullopt;
  return std::min(s, 24L * 3600); // the caller's cap applies; this only keeps the arithmetic sane
}

struct request_spec {
  std::string url;
  const std::string* post_body = nullptr;
  bool streaming = false;
};

attempt run_attempt(const openai_options& o, const request_spec& spec,
                    const std::function<caf::error(std::string_view)>* sink,
                    const std::atomic<bool>* cancel) {
  attempt out;
  easy_ptr easy{curl_easy_init()};
  multi_ptr multi{curl_multi_init()};
  if (!easy || !multi) {
    out.code = CURLE_OUT_OF_MEMORY;
    out.curl_message = "cannot create a curl handle";
    return out;
  }
  transfer t;
  t.easy = easy.get();
  t.sink = sink;
  t.cancel = cancel;
  t.max_body = o.max_response_bytes;
  char errbuf[CURL_ERROR_SIZE] = {};
  slist_ptr headers;
  auto add_header = [&](const std::string& h) {
    if (auto* grown = curl_slist_append(headers.get(), h.c_str())) {
      (void)headers.release();
      headers.reset(grown);
    }
  };
  add_header(spec.streaming ? "Accept: text/event-stream" : "Accept: application/json");
  add_header("Expect:"); // no 100-continue round trip for large bodies
  if (spec.post_body != nullptr)
    add_header("Content-Type: application/json");
  if (!o.api_key.empty())
    add_header("Authorization: Bearer " + o.api_key);
  auto* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, spec.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "troupe");
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  if (spec.post_body != nullptr) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, spec.post_body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(spec.post_body->size()));
  }
  // The multi interface lets this loop wake every poll_slice, so cancel and
  // the idle timer act within milliseconds; the easy interface's progress
  // callback may sleep a whole second between calls.
  curl_multi_add_handle(multi.get(), h);
  bool finished = false;
  for (int running = 1;;) {
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK || running == 0) {
      finished = true;
      break;
    }
    if (cancelled(cancel)) {
      t.aborted = abort_reason::cancelled;
      break;
    }
    if (spec.streaming && clock::now() - t.last_bytes > o.idle_timeout) {
      t.aborted = abort_reason::idle;
      break;
    }
    curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(poll_slice.count()), nullptr);
  }
  if (finished) {
    int left = 0;
    while (auto* msg = curl_multi_info_read(multi.get(), &left))
      if (msg->msg == CURLMSG_DONE)
        out.code = msg->data.result;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  long request_size = 0;
  curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
  out.sent = request_size > 0;
  if (char* loc = nullptr; curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
    out.location = loc;
  if (out.status > 0)
    out.retry_after_s = retry_after_seconds(h);
  out.curl_message = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(out.code);
  curl_multi_remove_handle(multi.get(), h);
  out.aborted = t.aborted;
  out.sink_error = std::move(t.sink_error);
  out.body = std::move(t.body);
  return out;
}

/// The verdict on one attempt: the body, a final error, or a failure worth
/// retrying, described for the log and the give-up message.
struct retry_t {
  std::string why;
  std::optional<long> retry_after_s;
};
using verdict = std::variant<std::string, caf::error, retry_t>;

verdict judge(attempt& a, const openai_options& o) {
  switch (a.aborted) {
  case abort_reason::cancelled:
    return make_error(errc::cancelled, "the caller cancelled the request");
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

/// False when cancelled while waiting.
bool wait(milliseconds d, const std::atomic<bool>* cancel) {
  auto until = clock::now() + d;
  while (clock::now() < until) {
    if (cancelled(cancel))
      return false;
    std::this_thread::sleep_for(std::min<clock::duration>(poll_slice, until - clock::now()));
  }
  return !cancelled(cancel);
}

std::string join_url(const std::string& base, const std::string& path) {
  auto end = base.find_last_not_of('/');
  return base.substr(0, end == std::string::npos ? 0 : end + 1) + path;
}

} // namespace

openai_client::openai_client(openai_options opts) : opts_(std::move(opts)) {
  global_init_once();
}

std::string openai_client::scrub(std::string text) const {
  // A provider may echo the key it was given; it never leaves this object.
  if (!opts_.api_key.empty())
    for (auto at = text.find(opts_.api_key); at != std::string::npos;
         at = text.find(opts_.api_key, at))
      text.replace(at, opts_.api_key.size(), "[redacted]");
  return text;
}

caf::error openai_client::fail(errc code, std::string what) const {
  return make_error(code, "provider " + opts_.provider + ": " + scrub(std::move(what)));
}

caf::error openai_client::fail(const caf::error& err) const {
  return fail(static_cast<errc>(err.code()), context_text(err));
}

caf::expected<std::string> openai_client::exchange(const std::string& path,
                                                   const std::string* post_body,
                                                   const body_sink* sink,
                                                   const std::atomic<bool>* cancel) const {
  request_spec spec{join_url(opts_.base_url, path), post_body, sink != nullptr};
  for (unsigned attempt_no = 0;; ++attempt_no) {
    if (cancelled(cancel))
      return fail(errc::cancelled, "the caller cancelled the request");
    auto a = run_attempt(opts_, spec, sink, cancel);
    auto v = judge(a, opts_);
    if (auto* body = std::get_if<std::string>(&v))
      return std::move(*body);
    if (auto* err = std::get_if<caf::error>(&v))
      return fail(*err);
    auto& r = std::get<retry_t>(v);
    if (attempt_no >= opts_.max_retries)
      return fail(errc::backend_unavailable,
                  "gave up after " + std::to_string(attempt_no + 1) + " attempts; last: " + r.why);
    auto delay = r.retry_after_s ? std::min<milliseconds>(std::chrono::seconds{*r.retry_after_s},
                                                          opts_.retry_after_max)
                                 : backoff(opts_, attempt_no);
    log::get("inference")
        ->warn("provider {} attempt {} failed, retrying in {} ms: {}", opts_.provider,
               attempt_no + 1, delay.count(), scrub(r.why));
    if (!wait(delay, cancel))
      return fail(errc::cancelled, "the caller cancelled the request");
  }
}

caf::expected<troupe::v1::GenerateResult>
openai_client::generate(const troupe::v1::GenerateRequest& req, const std::string& model,
                        const delta_fn& on_delta, const std::atomic<bool>* cancel) {
  const bool stream = static_cast<bool>(on_delta);
  auto body = openai::request_body(req, model, stream);
  if (!body)
    return fail(body.error());
  caf::expected<troupe::v1::GenerateResult> result{troupe::v1::GenerateResult{}};
  if (stream) {
    sse_parser parser{opts_.max_event_bytes};
    openai::stream_assembler assembler;
    caf::error event_error;
    body_sink sink = [&](std::string_view bytes) -> caf::error {
      auto err = parser.feed(bytes, [&](const sse_event& ev) {
        if (!event_error)
          event_error = assembler.add(ev.data, on_delta);
      });
      return err ? std::move(err) : event_error;
    };
    auto answer = exchange("/chat/completions", &*body, &sink, cancel);
    if (!answer)
      return answer.error();
    if (!assembler.complete())
      return fail(errc::malformed_response, "the stream ended before [DONE]");
    result = assembler.take();
  } else {
    auto answer = exchange("/chat/completions", &*body, nullptr, cancel);
    if (!answer)
      return answer.error();
    result = openai::parse_completion(*answer);
    if (!result)
      return fail(result.error());
  }
  if (result->model().empty())
    result->set_model(model);
  result->set_provider(opts_.provider);
  return result;
}

caf::expected<std::vector<troupe::v1::ModelInfo>> openai_client::list_models() {
  auto answer = exchange("/models", nullptr, nullptr, nullptr);
  if (!answer)
    return answer.error();
  auto models = openai::parse_model_list(*answer, opts_.provider);
  if (!models)
    return fail(models.error());
  return models;
}

} // namespace troupe::inference
