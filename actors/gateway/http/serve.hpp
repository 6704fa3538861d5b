#pragma once
/// One connection's life on its strand: requests read within the limits
/// (header and body size, read and idle timeouts), routed, answered, kept
/// alive; or, past max_connections, one 503 and a close.
#include <memory>

#include "actors/gateway/http/connection.hpp"
#include "actors/gateway/http/server_context.hpp"

namespace troupe::gateway::http {

net::awaitable<void> serve(std::shared_ptr<connection> c, server_context& ctx);

/// Answers 503 too_many_connections and closes.
net::awaitable<void> refuse(std::shared_ptr<connection> c, server_context& ctx);

} // namespace troupe::gateway::http
