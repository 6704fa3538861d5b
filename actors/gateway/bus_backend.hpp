#pragma once
/// The node's chat_backend: the HTTP front's calls, handed to the gateway
/// actor (actors/gateway/gateway_actor.hpp) that runs them over the bus.
/// While the gateway actor is being restarted, calls fail at once with 503
/// backend_unavailable; while the node's NATS connection is down (`bus`
/// not connected), with 503 bus_unavailable and Retry-After: 1 — not after
/// a request timeout. The connection reports connected again only once
/// nats.c has sent its subscriptions anew, so the first call after that is
/// served.
#include "actors/gateway/chat_backend.hpp"
#include "actors/gateway/gateway_actor.hpp"
#include "bus/transport.hpp"

namespace troupe::gateway {

[[nodiscard]] chat_backend_ptr make_bus_backend(gateway_slot_ptr slot, bus::transport_ptr bus);

} // namespace troupe::gateway
