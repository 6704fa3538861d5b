#include "actors/inference/provider_attempt.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>

namespace troupe::inference {

namespace {

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

} // namespace

provider_attempt::provider_attempt(openai_call& call) : call_(call), easy_(curl_easy_init()) {
  if (easy_ == nullptr)
    return;
  for (const auto& h : call.headers())
    if (auto* grown = curl_slist_append(headers_, h.c_str()))
      headers_ = grown;
  const auto& o = call.options();
  auto* h = easy_;
  curl_easy_setopt(h, CURLOPT_URL, call.url().c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "troupe");
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
  // The body lives in the call, which outlives the attempt: no copy.
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body().data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body().size()));
}

provider_attempt::~provider_attempt() {
  if (easy_ != nullptr)
    curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

size_t provider_attempt::on_body(char* data, size_t size, size_t n, void* self) {
  return static_cast<provider_attempt*>(self)->take({data, size * n});
}

size_t provider_attempt::take(std::string_view bytes) {
  last_bytes_ = clock::now();
  if (status_ < 0)
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status_);
  if (call_.streaming() && status_ / 100 == 2) {
    caf::error err;
    try {
      err = call_.on_stream_bytes(bytes);
    } catch (const std::exception& e) {
      // A throwing delta callback must not unwind through libcurl's C frames.
      err = make_error(errc::cancelled, std::string{"the delta callback failed: "} + e.what());
    }
    if (err) {
      sink_error_ = std::move(err);
      aborted_ = abort_reason::sink_failed;
      return 0; // a short count makes libcurl abort the transfer
    }
    return bytes.size();
  }
  if (body_.size() + bytes.size() > call_.options().max_response_bytes) {
    aborted_ = abort_reason::too_large;
    return 0;
  }
  body_.append(bytes);
  return bytes.size();
}

attempt_outcome provider_attempt::outcome(CURLcode code, abort_reason aborted) {
  attempt_outcome out;
  if (easy_ == nullptr) {
    out.code = CURLE_OUT_OF_MEMORY;
    out.curl_message = "cannot create a curl handle";
    return out;
  }
  out.code = code;
  out.aborted = aborted != abort_reason::none ? aborted : aborted_;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &out.status);
  long request_size = 0;
  curl_easy_getinfo(easy_, CURLINFO_REQUEST_SIZE, &request_size);
  out.sent = request_size > 0;
  if (char* loc = nullptr;
      curl_easy_getinfo(easy_, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc != nullptr)
    out.location = loc;
  if (out.status > 0)
    out.retry_after_s = retry_after_seconds(easy_);
  out.curl_message = errbuf_[0] != '\0' ? errbuf_ : curl_easy_strerror(out.code);
  out.sink_error = std::move(sink_error_);
  out.body = std::move(body_);
  return out;
}

} // namespace troupe::inference
