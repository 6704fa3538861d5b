#include "actors/gateway/http/exchange.hpp"

#include <cmath>

#include "actors/gateway/http/routes.hpp"
#include "common/json_body.hpp"

namespace troupe::gateway::http {

namespace {

constexpr std::string_view json_type = "application/json";

std::string_view header_of(const request& req, std::string_view name) {
  auto v = req[beast::string_view{name.data(), name.size()}];
  return {v.data(), v.size()};
}

/// "application/json", any case, with or without parameters (charset=utf-8).
bool is_json(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t'))
    media.remove_suffix(1);
  return beast::iequals(beast::string_view{media.data(), media.size()},
                        beast::string_view{json_type.data(), json_type.size()});
}

template <class Response> void add(Response& res, const headers& extra) {
  for (const auto& h : extra)
    res.set(beast::string_view{h.name}, beast::string_view{h.value});
}

} // namespace

bhttp::response<bhttp::string_body> json_response(unsigned status, std::string body,
                                                  unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, beast::string_view{json_type.data(), json_type.size()});
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

exchange::exchange(connection& c, server_context& ctx, const request& req, error_style style,
                   std::string id)
    : conn_(c), ctx_(ctx), req_(req), style_(style), id_(std::move(id)) {}

exchange::~exchange() {
  if (stream_open_)
    ctx_.metrics.streams(-1);
}

std::optional<std::string> exchange::query(std::string_view name) const {
  return query_param({req_.target().data(), req_.target().size()}, name);
}

bool exchange::keep_alive() const noexcept {
  return req_.keep_alive() && !broken_ && !interrupted() && (!stream_open_ || chunked_);
}

net::awaitable<bool> exchange::admit() {
  credentials c{std::string{header_of(req_, "Authorization")},
                std::string{header_of(req_, "X-Tenant-ID")},
                std::string{header_of(req_, "X-User-ID")}};
  auto who = co_await call<troupe::v1::Principal>(
      [&](callback<troupe::v1::Principal> done) { ctx_.auth->authenticate(c, std::move(done)); });
  if (!who)
    co_return false;
  principal_ = std::move(*who);
  auto wait = ctx_.limiter.take(principal_.tenant() + '\n' + principal_.user(), clock::now());
  if (!wait)
    co_return true;
  auto seconds = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait->count() / 1000.0)));
  http_error limited{429, "rate_limited",
                     "too many requests for this principal; retry in " + std::to_string(seconds)
                       + " s"};
  limited.retry_after_s = static_cast<unsigned>(seconds);
  co_await fail(limited);
  co_return false;
}

net::awaitable<std::optional<nlohmann::json>> exchange::json_body() {
  if (!is_json(header_of(req_, "Content-Type"))) {
    co_await fail({415, "unsupported_media_type", "the body must be application/json"});
    co_return std::nullopt;
  }
  auto body = nlohmann::json::parse(req_.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    co_await fail({400, "invalid_json", "the body is not valid JSON"});
    co_return std::nullopt;
  }
  if (!body.is_object()) {
    co_await fail({400, "invalid_request", "the body must be a JSON object"});
    co_return std::nullopt;
  }
  co_return body;
}

void exchange::arm_write_timeout() {
  conn_.arm_after(ctx_.opts.read_timeout);
}

net::awaitable<void> exchange::write(unsigned status, std::string body, const headers& extra) {
  status_ = status;
  auto res = json_response(status, std::move(body), req_.version(), keep_alive());
  add(res, extra);
  if (req_.method() == bhttp::verb::head)
    res.body().clear(); // Content-Length stays that of the GET answer
  arm_write_timeout();
  beast::error_code ec;
  co_await bhttp::async_write(conn_.stream, res, net::redirect_error(net::use_awaitable, ec));
  conn_.disarm();
  broken_ = broken_ || ec;
}

net::awaitable<void> exchange::reply(const nlohmann::json& body, headers extra) {
  co_await write(200, to_json_text(body), extra);
}

net::awaitable<void> exchange::fail(const http_error& e, headers extra) {
  if (e.status == 401)
    extra.push_back({"WWW-Authenticate", "Bearer"});
  if (e.retry_after_s > 0)
    extra.push_back({"Retry-After", std::to_string(e.retry_after_s)});
  co_await write(e.status, error_text(e, style_), extra);
}

net::awaitable<bool> exchange::open_stream(headers extra) {
  bhttp::response<bhttp::empty_body> res{bhttp::status::ok, req_.version()};
  res.set(bhttp::field::content_type, "text/event-stream");
  res.set(bhttp::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");
  add(res, extra);
  // HTTP/1.0 has no chunked encoding: the stream then ends with the connection.
  chunked_ = req_.version() >= 11;
  res.chunked(chunked_);
  stream_open_ = true;
  ctx_.metrics.streams(1);
  status_ = 200;
  res.keep_alive(keep_alive());
  bhttp::response_serializer<bhttp::empty_body> sr{res};
  arm_write_timeout();
  beast::error_code ec;
  co_await bhttp::async_write_header(conn_.stream, sr, net::redirect_error(net::use_awaitable, ec));
  conn_.disarm();
  broken_ = broken_ || ec;
  co_return !ec;
}

net::awaitable<bool> exchange::send(std::string_view frames) {
  if (broken_)
    co_return false;
  arm_write_timeout();
  beast::error_code ec;
  if (chunked_)
    co_await net::async_write(conn_.stream, bhttp::make_chunk(net::buffer(frames)),
                              net::redirect_error(net::use_awaitable, ec));
  else
    co_await net::async_write(conn_.stream, net::buffer(frames),
                              net::redirect_error(net::use_awaitable, ec));
  conn_.disarm();
  broken_ = broken_ || ec;
  co_return !ec;
}

net::awaitable<void> exchange::close_stream() {
  if (broken_ || !chunked_)
    co_return;
  arm_write_timeout();
  beast::error_code ec;
  co_await net::async_write(conn_.stream, bhttp::make_chunk_last(),
                            net::redirect_error(net::use_awaitable, ec));
  conn_.disarm();
  broken_ = broken_ || ec;
}

} // namespace troupe::gateway::http
