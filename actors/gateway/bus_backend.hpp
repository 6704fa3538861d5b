#pragma once
/// The node's chat_backend: the gateway actor behind the HTTP front. It signs
/// the caller's principal, finds the node that hosts a session (asking
/// svc.session, which claims it in the directory), sends the turn to that
/// session actor's direct address and relays the TurnChunks that come back on
/// the gateway's stream subject, in order. A session whose node stopped
/// answering (no responders) is re-activated elsewhere and the turn resent
/// once; a turn that may have run (timeout) is never resent.
#include <caf/actor_system.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "actors/gateway/chat_backend.hpp"
#include "bus/bridge.hpp"
#include "bus/principal.hpp"
#include "bus/subjects.hpp"
#include "bus/transport.hpp"

namespace troupe::gateway {

struct bus_backend_config {
  std::string node_id;
  std::string cluster;
  bus::transport_ptr transport;
  std::shared_ptr<const bus::principal_keys> keys; // signs principals; must hold a key
  bus::bridge_actor bridge;                        // serves the stream subject
  std::chrono::milliseconds turn_timeout{120'000};
  std::chrono::milliseconds request_timeout{5'000};
  size_t max_envelope_bytes = 1 << 20;
};

/// The HTTP status for a stable error code from behind the gateway.
unsigned status_of(std::string_view code) noexcept;

/// Spawns the gateway actor; the backend stops it when destroyed.
[[nodiscard]] chat_backend_ptr make_bus_backend(caf::actor_system& sys, bus_backend_config cfg);

} // namespace troupe::gateway
