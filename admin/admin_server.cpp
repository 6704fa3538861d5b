#include <utility> // Boost 1.74's asio/awaitable.hpp needs std::exchange declared first (GCC 12)

#include "admin/admin_server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // false positive inside Beast
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <prometheus/counter.h>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "common/logging.hpp"
#include "admin/errc.hpp"
#include "admin/routes.hpp"

namespace troupe::admin {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr size_t header_limit = 8 * 1024;

using response = http::response<http::string_body>;

} // namespace

struct admin_server::impl {
  // Declared before the io_context: coroutine frames destroyed with the
  // context still touch `connections` and `requests`.
  server_config cfg;
  /// Owns the registry `requests` lives in.
  std::shared_ptr<prometheus::Registry> registry;
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopped{false};
  uint16_t bound_port = 0;
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  /// Open connections, so stop() can close them; touched only on the I/O
  /// thread (and by coroutine frames destroyed with the io_context).
  std::unordered_set<tcp::socket*> live;
  std::vector<route> routes;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread io_thread;

  void count(std::string_view path, unsigned status) {
    if (requests)
      requests->Add({{"path", std::string{path}}, {"code", std::to_string(status)}}).Increment();
  }

  response answer(const http::request<http::string_body>& req) {
    response res{http::status::ok, req.version()};
    res.set(http::field::cache_control, "no-store");
    auto target = std::string_view{req.target().data(), req.target().size()};
    if (auto q = target.find('?'); q != std::string_view::npos)
      target = target.substr(0, q);
    auto it = std::find_if(routes.begin(), routes.end(),
                           [&](const route& r) { return r.path == target; });
    reply rep;
    if (it == routes.end()) {
      rep = {404, json_type, error_body("not_found", "no route " + std::string{target})};
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.set(http::field::allow, "GET, HEAD");
      rep = {405, json_type, error_body("method_not_allowed", "only GET and HEAD are served")};
    } else {
      try {
        rep = it->handle();
      } catch (const std::exception& e) {
        rep = hook_failed(e.what());
      } catch (...) {
        rep = hook_failed("a hook threw a non-standard exception");
      }
    }
    count(it == routes.end() ? std::string_view{"other"} : it->path, rep.status);
    res.result(rep.status);
    res.set(http::field::content_type,
            beast::string_view{rep.content_type.data(), rep.content_type.size()});
    res.body() = std::move(rep.body);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head)
      res.body().clear(); // Content-Length stays that of the GET answer
    return res;
  }

  static reply hook_failed(std::string_view what) {
    log::get("admin")->warn("admin hook failed: {}", what);
    return {500, json_type, error_body("internal_error", what)};
  }

  static response plain_error(http::status status, std::string_view code, std::string_view msg) {
    response res{status, 11};
    res.set(http::field::content_type, beast::string_view{json_type.data(), json_type.size()});
    res.body() = error_body(code, msg);
    res.keep_alive(false);
    res.prepare_payload();
    return res;
  }

// Asio's coroutine frames (awaitable_frame_base) pair a sized operator delete
// with their own operator new; GCC 12 flags that where the frame is freed,
// i.e. at the end of each coroutine body below, not at the include.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
  net::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    struct guard_t {
      impl& self;
      tcp::socket* socket;
      ~guard_t() {
        self.live.erase(socket);
        --self.connections;
      }
    } guard{*this, &stream.socket()};
    live.insert(&stream.socket());
    if (stopped)
      co_return; // started after stop() closed the sockets it knew of
    try {
      if (connections.load() > cfg.max_connections) {
        count("other", 503);
        auto res = plain_error(http::status::service_unavailable, "too_many_connections",
                               "the admin server is at its connection limit");
        co_await http::async_write(stream, res, net::use_awaitable);
        stream.socket().shutdown(tcp::socket::shutdown_both);
        co_return;
      }
      for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(header_limit);
        parser.body_limit(0); // probes take no bodies
        stream.expires_after(cfg.idle_timeout);
        beast::error_code ec;
        co_await http::async_read(stream, buffer, parser,
                                  net::redirect_error(net::use_awaitable, ec));
        if (ec == http::error::header_limit) {
          count("other", 431);
          auto res = plain_error(http::status::request_header_fields_too_large, "header_too_large",
                                 "request headers exceed 8 KiB");
          co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
          break;
        }
        if (ec == http::error::body_limit) {
          count("other", 413);
          auto res = plain_error(http::status::payload_too_large, "body_not_allowed",
                                 "the admin endpoints take no request body");
          co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
          break;
        }
        if (ec == http::error::end_of_stream || ec == beast::error::timeout
            || ec == net::error::operation_aborted || ec == net::error::connection_reset
            || ec == net::error::eof)
          break;
        if (ec) {
          count("other", 400);
          auto res = plain_error(http::status::bad_request, "bad_request", ec.message());
          co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
          break;
        }
        auto res = answer(parser.get());
        stream.expires_after(cfg.idle_timeout);
        co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
        if (ec || !res.keep_alive())
          break;
      }
    } catch (const std::exception& e) {
      log::get("admin")->debug("admin connection ended: {}", e.what());
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  net::awaitable<void> listen() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket{ioc};
      co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open())
          co_return;
        continue; // e.g. EMFILE: keep serving the connections we have
      }
      if (stopped)
        co_return; // accepted just before stop() closed the listener
      socket.set_option(tcp::no_delay(true), ec);
      ++connections;
      net::co_spawn(ioc, session(std::move(socket)), net::detached);
    }
  }
#pragma GCC diagnostic pop
};

caf::expected<std::unique_ptr<admin_server>> admin_server::start(server_config cfg, hooks h) {
  auto p = std::make_unique<impl>();
  p->cfg = std::move(cfg);
  p->routes = probe_routes(h);
  auto where = p->cfg.host + ":" + std::to_string(p->cfg.port);
  beast::error_code ec;
  auto address = net::ip::make_address(p->cfg.host, ec);
  if (ec)
    return make_error(errc::listen_failed, "cannot listen on " + where + ": " + ec.message());
  tcp::endpoint ep{address, p->cfg.port};
  p->acceptor.open(ep.protocol(), ec);
  if (!ec)
    p->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    p->acceptor.bind(ep, ec);
  if (!ec)
    p->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(errc::listen_failed, "cannot listen on " + where + ": " + ec.message());
  p->bound_port = p->acceptor.local_endpoint(ec).port();
  p->registry = h.metrics;
  if (p->registry) {
    try {
      p->requests = &prometheus::BuildCounter()
                         .Name("troupe_admin_requests_total")
                         .Help("Requests to the admin server, by route and status")
                         .Register(*p->registry);
    } catch (const std::exception& e) { // a same-named family of another type
      return make_error(errc::metrics_failed,
                        "cannot register troupe_admin_requests_total: " + std::string{e.what()});
    }
  }
  net::co_spawn(p->ioc, p->listen(), net::detached);
  auto* raw = p.get();
  try {
    p->io_thread = std::thread{[raw] {
      // A handler that throws must not take the probes down with it.
      for (;;) {
        try {
          raw->ioc.run();
          return;
        } catch (const std::exception& e) {
          log::get("admin")->error("admin I/O handler failed: {}", e.what());
        }
      }
    }};
  } catch (const std::system_error& e) {
    return make_error(errc::unknown, "cannot start the admin I/O thread: " + std::string{e.what()});
  }
  return std::unique_ptr<admin_server>{new admin_server{std::move(p)}};
}

admin_server::admin_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

admin_server::~admin_server() {
  stop();
}

uint16_t admin_server::port() const noexcept {
  return impl_->bound_port;
}

void admin_server::stop() {
  if (impl_->stopped.exchange(true))
    return;
  // Closing the listener and every socket on the I/O thread aborts each
  // pending operation; the coroutines then finish and run() returns, so the
  // join below is prompt even with clients still connected.
  net::post(impl_->ioc, [p = impl_.get()] {
    beast::error_code ignored;
    p->acceptor.close(ignored);
    for (auto* socket : p->live) {
      socket->shutdown(tcp::socket::shutdown_both, ignored);
      socket->close(ignored);
    }
  });
  if (impl_->io_thread.joinable())
    impl_->io_thread.join();
}

} // namespace troupe::admin
