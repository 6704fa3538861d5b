#include "actors/gateway/http/gateway_server.hpp"

#include <pthread.h>

#include <algorithm>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/gateway/http/errc.hpp"
#include "actors/gateway/http/serve.hpp"
#include "common/logging.hpp"

namespace troupe::gateway::http {

namespace {

/// The first option out of range, or empty.
std::string invalid_option(const server_options& o, bool auth, bool backend) {
  using namespace std::chrono_literals;
  if (!auth)
    return "no authenticator";
  if (!backend)
    return "no chat backend";
  if (o.io_threads < 1 || o.io_threads > 256)
    return "io_threads must be 1..256";
  if (o.max_header_bytes < 1024 || o.max_header_bytes > UINT32_MAX)
    return "max_header_bytes must be at least 1024";
  if (o.max_body_bytes < 1)
    return "max_body_bytes must be at least 1";
  if (o.max_connections < 1)
    return "max_connections must be at least 1";
  if (o.read_timeout <= 0ms || o.idle_timeout <= 0ms || o.turn_timeout <= 0ms
      || o.call_timeout <= 0ms || o.heartbeat_interval <= 0ms)
    return "timeouts and the heartbeat interval must be positive";
  if (!(o.rate_per_second >= 0) || !(o.rate_burst >= 0))
    return "rate_per_second and rate_burst must not be negative";
  return {};
}

void log_failure(std::exception_ptr e) {
  if (!e)
    return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::get("gateway")->warn("gateway connection failed: {}", ex.what());
  } catch (...) {
    log::get("gateway")->warn("gateway connection failed with a non-standard exception");
  }
}

} // namespace

struct gateway_server::impl {
  // Declared before the io_context: coroutine frames destroyed with the
  // context still touch `ctx` and `live`.
  server_context ctx;
  uint16_t bound_port = 0;
  /// Open connections, so stop() can reach them; I/O threads add and remove.
  std::mutex live_mutex;
  std::unordered_map<connection*, std::weak_ptr<connection>> live;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer sweep_timer{net::make_strand(ioc)};
  std::vector<std::thread> threads;

  impl(server_options o, authenticator_ptr a, chat_backend_ptr b, prometheus::Registry* reg)
      : ctx(std::move(o), std::move(a), std::move(b), reg),
        ioc(static_cast<int>(ctx.opts.io_threads)) {}

  net::awaitable<void> run_connection(std::shared_ptr<connection> c, bool over_limit) {
    struct guard_t {
      impl& self;
      connection* c;
      ~guard_t() {
        {
          std::lock_guard lock{self.live_mutex};
          self.live.erase(c);
        }
        --self.ctx.connections;
        self.ctx.metrics.connections(-1);
      }
    } guard{*this, c.get()};
    {
      std::lock_guard lock{live_mutex};
      live.emplace(c.get(), c);
    }
    ctx.metrics.connections(1);
    if (ctx.stopped)
      co_return; // accepted just before stop() went through the live connections
    if (over_limit)
      co_await refuse(std::move(c), ctx);
    else
      co_await serve(std::move(c), ctx);
  }

  net::awaitable<void> listen() {
    net::steady_timer backoff{acceptor.get_executor()};
    for (;;) {
      beast::error_code ec;
      tcp::socket socket{net::make_strand(ioc)};
      co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::operation_aborted || !acceptor.is_open() || ctx.stopped)
        co_return;
      if (ec) { // e.g. EMFILE: keep serving the connections we have, retry shortly
        log::get("gateway")->warn("gateway accept failed: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds{50});
        co_await backoff.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto c = std::make_shared<connection>(std::move(socket));
      bool over = ++ctx.connections > ctx.opts.max_connections;
      auto ex = c->stream.get_executor();
      net::co_spawn(ex, run_connection(std::move(c), over), log_failure);
    }
  }

  /// Enforces the connections' read and write deadlines (connection::arm):
  /// a few times per shortest timeout, so one fires at most that much late.
  net::awaitable<void> sweep() {
    auto shortest = std::min(ctx.opts.read_timeout, ctx.opts.idle_timeout);
    auto every = std::clamp<clock::duration>(shortest / 10, std::chrono::milliseconds{10},
                                             std::chrono::milliseconds{100});
    while (!ctx.stopped) {
      sweep_timer.expires_after(every);
      beast::error_code ec;
      co_await sweep_timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (ctx.stopped)
        co_return;
      auto now = clock::now();
      std::lock_guard lock{live_mutex};
      for (auto& [raw, weak] : live)
        if (raw->overdue(now))
          if (auto c = weak.lock())
            net::post(c->stream.get_executor(), [c, now] { c->expire(now); });
    }
  }

  void run_io() {
    // Named, so `top -H` and profilers tell the HTTP front from the rest.
    pthread_setname_np(pthread_self(), "troupe.gw-io");
    // A handler that throws must not take the other connections down with it.
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        log::get("gateway")->error("gateway I/O handler failed: {}", e.what());
      }
    }
  }

  caf::error bind() {
    auto where = ctx.opts.host + ":" + std::to_string(ctx.opts.port);
    beast::error_code ec;
    auto address = net::ip::make_address(ctx.opts.host, ec);
    if (ec)
      return make_error(errc::listen_failed, "cannot listen on " + where + ": " + ec.message());
    tcp::endpoint ep{address, ctx.opts.port};
    acceptor.open(ep.protocol(), ec);
    if (!ec)
      acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor.bind(ep, ec);
    if (!ec)
      acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(errc::listen_failed, "cannot listen on " + where + ": " + ec.message());
    bound_port = acceptor.local_endpoint(ec).port();
    return {};
  }
};

caf::expected<std::unique_ptr<gateway_server>>
gateway_server::start(server_options opts, authenticator_ptr auth, chat_backend_ptr backend,
                      prometheus::Registry* metrics) {
  if (auto bad = invalid_option(opts, auth != nullptr, backend != nullptr); !bad.empty())
    return make_error(errc::invalid_options, std::move(bad));
  std::unique_ptr<impl> p;
  try {
    p = std::make_unique<impl>(std::move(opts), std::move(auth), std::move(backend), metrics);
  } catch (const std::invalid_argument& e) { // a same-named family of another type
    return make_error(errc::metrics_failed,
                      "cannot register the gateway metrics: " + std::string{e.what()});
  }
  if (auto err = p->bind())
    return err;
  net::co_spawn(p->acceptor.get_executor(), p->listen(), log_failure);
  net::co_spawn(p->sweep_timer.get_executor(), p->sweep(), log_failure);
  std::unique_ptr<gateway_server> server{new gateway_server{std::move(p)}};
  auto* raw = server->impl_.get();
  try {
    for (size_t i = 0; i < raw->ctx.opts.io_threads; ++i)
      raw->threads.emplace_back([raw] { raw->run_io(); });
  } catch (const std::system_error& e) {
    server->stop();
    return make_error(errc::thread_failed,
                      "cannot start a gateway I/O thread: " + std::string{e.what()});
  }
  return server;
}

gateway_server::gateway_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

gateway_server::~gateway_server() {
  stop();
}

uint16_t gateway_server::port() const noexcept {
  return impl_->bound_port;
}

void gateway_server::stop() {
  auto* p = impl_.get();
  if (p->ctx.stopped.exchange(true))
    return;
  // Closing the listener and every socket aborts each pending operation and
  // ringing each alarm wakes each wait for a backend; the coroutines then
  // cancel their turns and finish, run() returns, and the joins are prompt.
  net::post(p->acceptor.get_executor(), [p] {
    beast::error_code ignored;
    p->acceptor.close(ignored);
  });
  net::post(p->sweep_timer.get_executor(), [p] { p->sweep_timer.cancel(); });
  {
    std::lock_guard lock{p->live_mutex};
    for (auto& [raw, weak] : p->live)
      if (auto c = weak.lock())
        net::post(c->stream.get_executor(), [c] { c->shut(); });
  }
  // With no thread running (thread_failed), nothing would run what was posted.
  if (p->threads.empty())
    p->ioc.run();
  for (auto& t : p->threads)
    if (t.joinable())
      t.join();
  std::lock_guard closed{p->ctx.gate->mutex};
  p->ctx.gate->open = false;
}

} // namespace troupe::gateway::http
