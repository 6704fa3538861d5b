#include "bench/sse_provider.hpp"

#include <pthread.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench/beast.hpp"

namespace troupe::bench {

namespace {

std::string event(const nlohmann::json& j) {
  return "data: " + j.dump() + "\n\n";
}

nlohmann::json chunk(nlohmann::json choices) {
  return {{"id", "chatcmpl-bench"},
          {"object", "chat.completion.chunk"},
          {"created", 1715367049},
          {"model", "bench-model"},
          {"choices", std::move(choices)}};
}

/// The stream's events, made once: token i is " t<i>".
std::vector<std::string> token_events(size_t tokens) {
  std::vector<std::string> out;
  for (size_t i = 0; i < tokens; ++i) {
    auto delta = i == 0 ? nlohmann::json{{"role", "assistant"}, {"content", " t0"}}
                        : nlohmann::json{{"content", " t" + std::to_string(i)}};
    out.push_back(event(chunk({{{"index", 0}, {"delta", delta}, {"finish_reason", nullptr}}})));
  }
  return out;
}

std::string tail_events(size_t tokens) {
  auto usage = chunk(nlohmann::json::array());
  usage["usage"] = {
      {"prompt_tokens", 1}, {"completion_tokens", tokens}, {"total_tokens", tokens + 1}};
  return event(chunk(
             {{{"index", 0}, {"delta", nlohmann::json::object()}, {"finish_reason", "stop"}}}))
         + event(usage) + "data: [DONE]\n\n";
}

} // namespace

struct sse_provider::impl {
  std::vector<std::string> tokens;
  std::string tail;
  std::chrono::microseconds gap;
  std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> request_times;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
  std::thread thread;

  /// False when the client went away.
  net::awaitable<bool> stream(beast::tcp_stream& s, unsigned version, bool keep_alive) {
    http::response<http::empty_body> res{http::status::ok, version};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.chunked(true);
    res.keep_alive(keep_alive);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    co_await http::async_write_header(s, sr, net::redirect_error(net::use_awaitable, ec));
    net::steady_timer timer{s.get_executor()};
    for (size_t i = 0; i < tokens.size() && !ec; ++i) {
      // A real model paces its tokens one after the other: the gap runs
      // from the previous write, so a late write does not shorten the next gap.
      if (i > 0) {
        timer.expires_after(gap);
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      co_await net::async_write(s, http::make_chunk(net::buffer(tokens[i])),
                                net::redirect_error(net::use_awaitable, ec));
    }
    if (!ec)
      co_await net::async_write(s, http::make_chunk(net::buffer(tail)),
                                net::redirect_error(net::use_awaitable, ec));
    if (!ec)
      co_await net::async_write(s, http::make_chunk_last(),
                                net::redirect_error(net::use_awaitable, ec));
    co_return !ec;
  }

  net::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream s{std::move(socket)};
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20); // the node sends the whole history
      beast::error_code ec;
      co_await http::async_read(s, buffer, parser, net::redirect_error(net::use_awaitable, ec));
      if (ec)
        break;
      const auto& req = parser.get();
      if (req.method() == http::verb::post && req.target() == "/v1/chat/completions") {
        {
          std::lock_guard lock{mutex};
          request_times.push_back(std::chrono::steady_clock::now());
        }
        if (!co_await stream(s, req.version(), req.keep_alive()) || !req.keep_alive())
          break;
        continue;
      }
      http::response<http::string_body> res{http::status::not_found, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"error":{"message":"the bench provider only streams chat completions"}})";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await http::async_write(s, res, net::redirect_error(net::use_awaitable, ec));
      if (ec || !res.keep_alive())
        break;
    }
    beast::error_code ignored;
    s.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  net::awaitable<void> listen() {
    for (;;) {
      tcp::socket socket{ioc};
      beast::error_code ec;
      co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
      if (ec)
        co_return;
      socket.set_option(tcp::no_delay(true), ec);
      net::co_spawn(ioc, session(std::move(socket)), net::detached);
    }
  }
};

sse_provider::sse_provider(size_t tokens, std::chrono::microseconds gap)
    : impl_(std::make_unique<impl>()) {
  impl_->tokens = token_events(tokens);
  impl_->tail = tail_events(tokens);
  impl_->gap = gap;
  net::co_spawn(impl_->ioc, impl_->listen(), net::detached);
  impl_->thread = std::thread{[p = impl_.get()] {
    pthread_setname_np(pthread_self(), "bench.provider");
    p->ioc.run();
  }};
}

sse_provider::~sse_provider() {
  impl_->ioc.stop();
  impl_->thread.join();
}

uint16_t sse_provider::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::vector<std::chrono::steady_clock::time_point> sse_provider::take_request_times() {
  std::lock_guard lock{impl_->mutex};
  return std::exchange(impl_->request_times, {});
}

std::string sse_provider::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port()) + "/v1";
}

} // namespace troupe::bench
