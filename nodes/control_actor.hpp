#pragma once
/// The node's control plane actor. It
/// - answers `troupe.v1.NodeInfoRequest` on `troupe.<cluster>.ctl.<node>`
///   with a `troupe.v1.NodeInfo` (roles, version, uptime, every actor with its
///   mailbox size and restart count, readiness);
/// - publishes a `troupe.v1.Heartbeat` on `troupe.<cluster>.heartbeat.<node>`
///   every `node.heartbeat_interval_ms` and records it in PostgreSQL;
/// - listens to the cluster's heartbeats to know its peers;
/// - refreshes the readiness inputs in the node_context twice a second, so
///   /ready never waits on an actor or a database.
///
/// Lifecycle: a child of the `system` supervisor. The bridge and the storage
/// actor it talks to outlive every supervised actor (the node shuts down
/// when either dies).
#include <caf/all.hpp>
#include <memory>

#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/inbound.hpp"
#include "messages/message_types.hpp"
#include "nodes/node_context.hpp"
#include "storage/storage_actor.hpp"

namespace troupe::node {

using control_actor = caf::typed_actor<caf::reacts_to<inbound_atom, bus::inbound>,
                                       caf::reacts_to<tick_atom>,
                                       caf::reacts_to<status_atom>>;

supervision::child_spec control_child(std::shared_ptr<node_context> ctx, bus::bridge_actor bridge,
                                      storage::storage_actor store);

/// Builds the NodeInfo answer from the context (also used by `troupe node`
/// tests and the console later).
troupe::v1::NodeInfo make_node_info(const node_context& ctx);

} // namespace troupe::node
