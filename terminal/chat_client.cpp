#include "terminal/chat_client.hpp"

#include <curl/curl.h>
#include <memory>

#include "actors/inference/sse_parser.hpp"

namespace troupe::terminal {

namespace {

using curl_ptr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using headers_ptr = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

/// What one exchange collects while curl runs it.
struct exchange {
  long status = 0;
  std::string body; // a non-streamed answer, or an error answer of the stream route
  inference::sse_parser parser;
  const stream_handlers* on = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  turn_outcome outcome;
  bool finished = false; // `done` or `error` seen
  CURL* handle = nullptr;
};

gateway_error unreachable(const std::string& url, CURLcode rc, const char* detail) {
  return {"unreachable", "cannot reach the gateway at " + url + ": "
                             + (detail[0] != '\0' ? std::string{detail}
                                                  : std::string{curl_easy_strerror(rc)})};
}

/// The gateway's error body {"error":{"code","message"}}, or the status alone.
gateway_error error_of(long status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j["error"].is_object() && j["error"]["code"].is_string())
    return {j["error"]["code"].get<std::string>(),
            j["error"].value("message", std::string{"(no message)"})};
  return {"http_" + std::to_string(status), "the gateway answered HTTP " + std::to_string(status)};
}

void on_event(exchange& x, const inference::sse_event& ev) {
  auto data = nlohmann::json::parse(ev.data, nullptr, false);
  if (!data.is_object()) {
    x.outcome.error = gateway_error{"malformed_stream", "an event that is not a JSON object"};
    x.finished = true;
    return;
  }
  if (auto sid = data.find("session_id"); sid != data.end() && sid->is_string())
    x.outcome.session_id = sid->get<std::string>();
  if (ev.type == "delta") {
    if (x.on->on_text && data["text"].is_string())
      x.on->on_text(data["text"].get_ref<const std::string&>());
  } else if (ev.type == "tool_call" || ev.type == "tool_result") {
    if (x.on->on_tool)
      x.on->on_tool(data, ev.type);
  } else if (ev.type == "done") {
    x.finished = true;
  } else if (ev.type == "error") {
    x.outcome.error = gateway_error{data.value("code", std::string{"error"}),
                                    data.value("message", std::string{})};
    x.finished = true;
  }
}

size_t on_stream_bytes(char* data, size_t size, size_t n, void* user) {
  auto& x = *static_cast<exchange*>(user);
  std::string_view bytes{data, size * n};
  if (x.status == 0)
    curl_easy_getinfo(x.handle, CURLINFO_RESPONSE_CODE, &x.status);
  if (x.status != 200) {
    if (x.body.size() < (size_t{1} << 20))
      x.body.append(bytes);
    return bytes.size();
  }
  if (auto err = x.parser.feed(bytes, [&x](const inference::sse_event& ev) { on_event(x, ev); })) {
    x.outcome.error = gateway_error{"malformed_stream", "the event stream broke off: an event too large"};
    return 0;
  }
  return bytes.size();
}

size_t on_body_bytes(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& x = *static_cast<exchange*>(user);
  return x.cancel != nullptr && x.cancel->load() ? 1 : 0;
}

headers_ptr common_headers(const std::string& key, bool json_body) {
  curl_slist* h = nullptr;
  if (!key.empty())
    h = curl_slist_append(h, ("Authorization: Bearer " + key).c_str());
  if (json_body)
    h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Accept: text/event-stream, application/json");
  return {h, &curl_slist_free_all};
}

curl_ptr new_handle(const std::string& url, curl_slist* headers, char* error_buffer) {
  curl_ptr c{curl_easy_init(), &curl_easy_cleanup};
  if (!c)
    return c;
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  error_buffer[0] = '\0';
  return c;
}

} // namespace

chat_client::chat_client(std::string base_url, std::string api_key)
  : base_(std::move(base_url)), key_(std::move(api_key)) {
  while (!base_.empty() && base_.back() == '/')
    base_.pop_back();
}

turn_outcome chat_client::send(const std::string& session_id, const std::string& model,
                               const std::string& message, const stream_handlers& on,
                               const std::atomic<bool>& cancel) const {
  nlohmann::json req{{"message", message}};
  if (!session_id.empty())
    req["session_id"] = session_id;
  if (!model.empty())
    req["model"] = model;
  auto body = req.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto url = base_ + "/v1/chat/stream";
  auto headers = common_headers(key_, true);
  char error_buffer[CURL_ERROR_SIZE];
  auto c = new_handle(url, headers.get(), error_buffer);
  exchange x;
  x.on = &on;
  x.cancel = &cancel;
  x.handle = c.get();
  x.outcome.session_id = session_id;
  if (!c) {
    x.outcome.error = gateway_error{"internal", "libcurl could not start a request"};
    return x.outcome;
  }
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_stream_bytes);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &x);
  auto rc = curl_easy_perform(c.get());
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &x.status);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    x.outcome.error = gateway_error{"cancelled", "you cancelled the turn"};
  } else if (x.outcome.error) {
    // the stream said what went wrong
  } else if (rc != CURLE_OK) {
    x.outcome.error = unreachable(base_, rc, error_buffer);
  } else if (x.status != 200) {
    x.outcome.error = error_of(x.status, x.body);
  } else if (!x.finished) {
    x.outcome.error = gateway_error{"stream_ended", "the stream ended before the turn finished"};
  }
  return x.outcome;
}

json_answer chat_client::get(const std::string& path) const {
  auto headers = common_headers(key_, false);
  char error_buffer[CURL_ERROR_SIZE];
  auto c = new_handle(base_ + path, headers.get(), error_buffer);
  json_answer out;
  if (!c) {
    out.error = gateway_error{"internal", "libcurl could not start a request"};
    return out;
  }
  std::string body;
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_body_bytes);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT_MS, 30000L);
  auto rc = curl_easy_perform(c.get());
  long status = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) {
    out.error = unreachable(base_, rc, error_buffer);
    return out;
  }
  if (status != 200) {
    out.error = error_of(status, body);
    return out;
  }
  out.body = nlohmann::json::parse(body, nullptr, false);
  if (out.body.is_discarded())
    out.error = gateway_error{"malformed_answer", "the gateway's answer to " + path + " is not JSON"};
  return out;
}

json_answer chat_client::sessions() const {
  return get("/v1/sessions");
}

json_answer chat_client::messages(const std::string& session_id) const {
  std::string escaped;
  if (auto* e = curl_easy_escape(nullptr, session_id.c_str(), static_cast<int>(session_id.size()))) {
    escaped = e;
    curl_free(e);
  }
  return get("/v1/sessions/" + escaped + "/messages");
}

} // namespace troupe::terminal
