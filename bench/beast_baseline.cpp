#include "bench/beast_baseline.hpp"

#include <pthread.h>

#include <thread>
#include <vector>

#include "bench/beast.hpp"

namespace troupe::bench {

struct beast_baseline::impl {
  std::string body;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc), {net::ip::make_address("127.0.0.1"), 0}};
  std::vector<std::thread> threads;

  net::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      beast::error_code ec;
      co_await http::async_read(stream, buffer, parser,
                                net::redirect_error(net::use_awaitable, ec));
      if (ec)
        break;
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = body;
      res.keep_alive(parser.get().keep_alive());
      res.prepare_payload();
      co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
      if (ec || !res.keep_alive())
        break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  net::awaitable<void> listen() {
    for (;;) {
      tcp::socket socket{net::make_strand(ioc)};
      beast::error_code ec;
      co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
      if (ec)
        co_return;
      socket.set_option(tcp::no_delay(true), ec);
      auto ex = socket.get_executor();
      net::co_spawn(ex, session(std::move(socket)), net::detached);
    }
  }
};

beast_baseline::beast_baseline(size_t io_threads, std::string body)
    : impl_(std::make_unique<impl>()) {
  impl_->body = std::move(body);
  net::co_spawn(impl_->acceptor.get_executor(), impl_->listen(), net::detached);
  for (size_t i = 0; i < io_threads; ++i)
    impl_->threads.emplace_back([p = impl_.get()] {
      pthread_setname_np(pthread_self(), "bench.baseline");
      p->ioc.run();
    });
}

beast_baseline::~beast_baseline() {
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
}

uint16_t beast_baseline::port() const {
  return impl_->acceptor.local_endpoint().port();
}

} // namespace troupe::bench
