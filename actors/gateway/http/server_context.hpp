#pragma once
/// What every connection of one server shares: options, the seams, limits
/// and metrics. Owned by the server; outlives every connection.
#include <atomic>
#include <memory>

#include "actors/gateway/http/gateway_server.hpp"
#include "actors/gateway/http/mailbox.hpp"
#include "actors/gateway/http/rate_limiter.hpp"
#include "actors/gateway/http/server_metrics.hpp"

namespace troupe::gateway::http {

struct server_context {
  server_context(server_options o, authenticator_ptr a, chat_backend_ptr b,
                 prometheus::Registry* reg)
      : opts(std::move(o)), auth(std::move(a)), backend(std::move(b)),
        limiter(opts.rate_per_second, opts.rate_burst), metrics(reg) {}

  server_options opts;
  authenticator_ptr auth;
  chat_backend_ptr backend;
  rate_limiter limiter;
  server_metrics metrics;
  std::shared_ptr<io_gate> gate = std::make_shared<io_gate>();
  std::atomic<size_t> connections{0};
  std::atomic<bool> stopped{false};
};

} // namespace troupe::gateway::http
