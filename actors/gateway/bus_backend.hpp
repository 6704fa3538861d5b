#pragma once
/// The node's chat_backend: the HTTP front's calls, handed to the gateway
/// actor (actors/gateway/gateway_actor.hpp) that runs them over the bus.
/// While the gateway actor is being restarted, calls fail at once with 503
/// backend_unavailable.
#include "actors/gateway/chat_backend.hpp"
#include "actors/gateway/gateway_actor.hpp"

namespace troupe::gateway {

[[nodiscard]] chat_backend_ptr make_bus_backend(gateway_slot_ptr slot);

} // namespace troupe::gateway
