#include <utility> // Boost 1.74's asio/awaitable.hpp needs std::exchange declared first (GCC 12)

#include "tests/support/fake_openai_server.hpp"

#include <boost/asio.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // false positive inside Beast
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <boost/algorithm/string/predicate.hpp>
#include <atomic>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

namespace troupe::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

namespace {

constexpr size_t body_limit = 16u << 20;

std::string error_json(std::string_view message, std::string_view type) {
  return json{{"error", {{"message", message}, {"type", type}, {"code", nullptr}}}}.dump();
}

std::string last_message_text(const json& body) {
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty() || !it->back().is_object())
    return {};
  auto content = it->back().find("content");
  return content != it->back().end() && content->is_string() ? content->get<std::string>()
                                                             : std::string{};
}

/// The default answers of a tiny OpenAI server.
scripted_response default_answer(const recorded_request& req) {
  if (req.method == "GET" && req.target == "/v1/models")
    return scripted_response::json(200, json{{"object", "list"},
                                             {"data",
                                              {{{"id", "fake-model"},
                                                {"object", "model"},
                                                {"created", 1700000000},
                                                {"owned_by", "fake"}}}}}
                                            .dump());
  if (req.method != "POST" || req.target != "/v1/chat/completions")
    return scripted_response::json(404, error_json("no route " + req.target, "not_found"));
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return scripted_response::json(400,
                                   error_json("the body is not JSON", "invalid_request_error"));
  auto text = last_message_text(body);
  auto model = body.value("model", std::string{"fake-model"});
  json usage{{"prompt_tokens", 3}, {"completion_tokens", 3}, {"total_tokens", 6}};
  if (body.value("stream", false)) {
    std::vector<stream_piece> pieces;
    for (auto delta : {std::string{"fake "}, std::string{"heard: "}, text})
      pieces.push_back({sse_data(content_chunk(delta)), {}});
    pieces.push_back(
        {sse_data(json{
             {"object", "chat.completion.chunk"},
             {"model", model},
             {"choices", {{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}}}
                      .dump()),
         {}});
    pieces.push_back({sse_data(json{{"object", "chat.completion.chunk"},
                                    {"model", model},
                                    {"choices", json::array()},
                                    {"usage", usage}}
                                   .dump()),
                      {}});
    pieces.push_back({sse_data("[DONE]"), {}});
    return scripted_response::sse(std::move(pieces));
  }
  return scripted_response::json(
      200, json{{"id", "chatcmpl-fake"},
                {"object", "chat.completion"},
                {"model", model},
                {"choices",
                 {{{"index", 0},
                   {"message", {{"role", "assistant"}, {"content", "fake heard: " + text}}},
                   {"finish_reason", "stop"}}}},
                {"usage", usage}}
               .dump());
}

} // namespace

std::string recorded_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (boost::iequals(k, name))
      return v;
  return {};
}

scripted_response scripted_response::json(unsigned status, std::string body, header_list headers) {
  scripted_response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

scripted_response scripted_response::redirect(std::string location, unsigned status) {
  scripted_response r;
  r.status = status;
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

scripted_response scripted_response::sse(std::vector<stream_piece> pieces) {
  scripted_response r;
  r.what = kind::stream;
  r.pieces = std::move(pieces);
  return r;
}

scripted_response scripted_response::hang() {
  scripted_response r;
  r.what = kind::hang;
  return r;
}

std::string sse_data(std::string_view payload) {
  return "data: " + std::string{payload} + "\n\n";
}

std::string content_chunk(std::string_view text) {
  return json{
      {"object", "chat.completion.chunk"},
      {"model", "fake-model"},
      {"choices", {{{"index", 0}, {"delta", {{"content", text}}}, {"finish_reason", nullptr}}}}}
      .dump();
}

struct fake_openai_server::impl {
  // Declared before the io_context, whose destructor destroys the pending
  // coroutine frames that still refer to them.
  mutable std::mutex mtx;
  std::deque<scripted_response> script;
  std::vector<recorded_request> seen;
  std::atomic<size_t> hangs_abandoned{0};
  std::atomic<size_t> streams_abandoned{0};
  uint16_t bound_port = 0;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread io_thread;

  scripted_response next(const recorded_request& req) {
    std::lock_guard lock{mtx};
    seen.push_back(req);
    if (script.empty())
      return default_answer(req);
    auto r = std::move(script.front());
    script.pop_front();
    return r;
  }

// Asio's coroutine frames pair a sized operator delete with their own
// operator new; GCC 12 flags that at the end of each coroutine body.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
  /// False when the client went away.
  net::awaitable<bool> send_stream(beast::tcp_stream& stream, const scripted_response& r,
                                   unsigned version, bool keep_alive) {
    http::response<http::empty_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    for (const auto& [k, v] : r.headers)
      res.set(k, v);
    res.chunked(true);
    res.keep_alive(keep_alive);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    co_await http::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
    for (const auto& piece : r.pieces) {
      if (ec)
        co_return false;
      if (piece.delay.count() > 0) {
        net::steady_timer timer{stream.get_executor(), piece.delay};
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      co_await net::async_write(stream, http::make_chunk(net::buffer(piece.bytes)),
                                net::redirect_error(net::use_awaitable, ec));
    }
    if (!ec)
      co_await net::async_write(stream, http::make_chunk_last(),
                                net::redirect_error(net::use_awaitable, ec));
    co_return !ec;
  }

  net::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(body_limit);
      beast::error_code ec;
      co_await http::async_read(stream, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
      if (ec)
        co_return;
      const auto& req = parser.get();
      recorded_request rec{
          std::string{req.method_string()}, std::string{req.target()}, {}, req.body()};
      for (const auto& field : req)
        rec.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
      auto r = next(rec);
      if (r.what == scripted_response::kind::hang) {
        char byte;
        co_await stream.async_read_some(net::buffer(&byte, 1),
                                        net::redirect_error(net::use_awaitable, ec));
        ++hangs_abandoned;
        co_return; // the client gave up (or sent more, which a hang ignores)
      }
      if (r.what == scripted_response::kind::stream) {
        if (!co_await send_stream(stream, r, req.version(), req.keep_alive())) {
          ++streams_abandoned;
          co_return;
        }
        if (!req.keep_alive())
          co_return;
        continue;
      }
      http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
      for (const auto& [k, v] : r.headers)
        res.set(k, v);
      res.body() = std::move(r.body);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
      if (ec || !res.keep_alive())
        co_return;
    }
  }

  net::awaitable<void> listen() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket{ioc};
      co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::operation_aborted || !acceptor.is_open())
        co_return;
      if (!ec)
        net::co_spawn(ioc, session(std::move(socket)), net::detached);
    }
  }
#pragma GCC diagnostic pop
};

fake_openai_server::fake_openai_server() : impl_(std::make_unique<impl>()) {
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
  beast::error_code ec;
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec)
    impl_->acceptor.bind(ep, ec);
  if (!ec)
    impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (!ec)
    impl_->bound_port = impl_->acceptor.local_endpoint(ec).port();
  if (ec)
    throw std::runtime_error("fake_openai_server: cannot listen: " + ec.message());
  net::co_spawn(impl_->ioc, impl_->listen(), net::detached);
  impl_->io_thread = std::thread{[p = impl_.get()] { p->ioc.run(); }};
}

fake_openai_server::~fake_openai_server() {
  // Stopping drops every connection mid-answer, hangs included; the frames
  // left behind go with the io_context.
  impl_->ioc.stop();
  impl_->io_thread.join();
}

uint16_t fake_openai_server::port() const noexcept {
  return impl_->bound_port;
}

size_t fake_openai_server::hangs_abandoned() const noexcept {
  return impl_->hangs_abandoned.load();
}

size_t fake_openai_server::streams_abandoned() const noexcept {
  return impl_->streams_abandoned.load();
}

std::string fake_openai_server::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/v1";
}

void fake_openai_server::push(scripted_response r) {
  std::lock_guard lock{impl_->mtx};
  impl_->script.push_back(std::move(r));
}

std::vector<recorded_request> fake_openai_server::requests() const {
  std::lock_guard lock{impl_->mtx};
  return impl_->seen;
}

} // namespace troupe::test
