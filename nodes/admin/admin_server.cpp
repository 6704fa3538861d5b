#include <utility> // Boost 1.74's asio/awaitable.hpp needs std::exchange declared first (GCC 12)

#include "nodes/admin/admin_server.hpp"

#include <atomic>
#include <boost/asio.hpp>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // false positive inside Beast
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <prometheus/counter.h>
#include <thread>

#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "nodes/admin/errc.hpp"

namespace troupe::admin {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr size_t header_limit = 8 * 1024;
constexpr const char* json_type = "application/json";
constexpr const char* metrics_type = "text/plain; version=0.0.4; charset=utf-8";

using response = http::response<http::string_body>;

std::string error_body(std::string_view code, std::string_view message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

/// The label value for a path: known routes by name, everything else
/// "other", so a scanner cannot grow the metric's label set.
std::string_view route_label(std::string_view target) {
  for (std::string_view known : {"/livez", "/ready", "/health", "/metrics"})
    if (target == known)
      return known;
  return "other";
}

} // namespace

struct admin_server::impl {
  // Declared before the io_context: coroutine frames destroyed with the
  // context still touch `connections` and `requests`.
  server_config cfg;
  hooks h;
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopped{false};
  prometheus::Family<prometheus::Counter>* requests = nullptr;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread io_thread;

  void count(std::string_view path, unsigned status) {
    if (requests)
      requests->Add({{"path", std::string{path}}, {"code", std::to_string(status)}}).Increment();
  }

  response route(const http::request<http::string_body>& req) {
    response res{http::status::ok, req.version()};
    res.set(http::field::content_type, json_type);
    res.set(http::field::cache_control, "no-store");
    auto target = std::string_view{req.target().data(), req.target().size()};
    if (auto q = target.find('?'); q != std::string_view::npos)
      target = target.substr(0, q);
    bool known = route_label(target) != "other";
    if (!known) {
      res.result(http::status::not_found);
      res.body() = error_body("not_found", "no route " + std::string{target});
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
      res.body() = error_body("method_not_allowed", "only GET and HEAD are served");
    } else {
      try {
        if (target == "/livez") {
          res.body() = R"({"live":true})";
        } else if (target == "/ready") {
          auto r = h.ready ? h.ready() : readiness{false, {"no readiness hook"}};
          if (!r.ready)
            res.result(http::status::service_unavailable);
          res.body() = nlohmann::json{{"ready", r.ready}, {"missing", r.missing}}.dump();
        } else if (target == "/health") {
          auto j = h.health ? h.health() : nlohmann::json::object();
          j["live"] = true;
          res.body() = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } else {
          res.set(http::field::content_type, metrics_type);
          res.body() = h.metrics ? metrics::render(*h.metrics) : std::string{};
        }
      } catch (const std::exception& e) {
        res.result(http::status::internal_server_error);
        res.set(http::field::content_type, json_type);
        res.body() = error_body("internal_error", e.what());
      }
    }
    count(route_label(target), res.result_int());
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (req.method() == http::verb::head)
      res.body().clear(); // Content-Length stays that of the GET answer
    return res;
  }

  static response plain_error(http::status status, std::string_view code, std::string_view msg) {
    response res{status, 11};
    res.set(http::field::content_type, json_type);
    res.body() = error_body(code, msg);
    res.keep_alive(false);
    res.prepare_payload();
    return res;
  }

  net::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream{std::move(socket)};
    beast::flat_buffer buffer;
    struct guard_t {
      std::atomic<size_t>& n;
      ~guard_t() { --n; }
    } guard{connections};
    try {
      if (connections.load() > cfg.max_connections) {
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
          auto res = plain_error(http::status::request_header_fields_too_large,
                                 "header_too_large", "request headers exceed 8 KiB");
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
        auto res = route(parser.get());
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
      socket.set_option(tcp::no_delay(true), ec);
      ++connections;
      net::co_spawn(ioc, session(std::move(socket)), net::detached);
    }
  }
};

caf::expected<std::unique_ptr<admin_server>> admin_server::start(server_config cfg, hooks h) {
  auto p = std::make_unique<impl>();
  p->cfg = std::move(cfg);
  p->h = std::move(h);
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
  if (p->h.metrics)
    p->requests = &prometheus::BuildCounter()
                     .Name("troupe_admin_requests_total")
                     .Help("Requests to the admin server, by route and status")
                     .Register(*p->h.metrics);
  net::co_spawn(p->ioc, p->listen(), net::detached);
  auto* raw = p.get();
  p->io_thread = std::thread{[raw] {
    try {
      raw->ioc.run();
    } catch (const std::exception& e) {
      log::get("admin")->error("admin server stopped: {}", e.what());
    }
  }};
  return std::unique_ptr<admin_server>{new admin_server{std::move(p)}};
}

admin_server::admin_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

admin_server::~admin_server() {
  stop();
}

uint16_t admin_server::port() const noexcept {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void admin_server::stop() {
  if (impl_->stopped.exchange(true))
    return;
  // Stopping the context abandons every coroutine; their sockets close when
  // the context is destroyed with this object.
  impl_->ioc.stop();
  if (impl_->io_thread.joinable())
    impl_->io_thread.join();
}

} // namespace troupe::admin
