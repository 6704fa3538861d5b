#pragma once
/// The service endpoint of one role on this node: it joins the role's queue
/// group `troupe.<cluster>.svc.<role>` through the bridge and answers
/// `troupe.v1.Ping` with a `troupe.v1.Pong` naming the node. Later issues give
/// each role its real message handlers behind this same endpoint.
///
/// Lifecycle: a child of the role's supervisor; it registers with the bridge
/// on start (a restarted service registers again). The bridge outlives every
/// supervised actor: when it dies the node shuts down.
#include <caf/all.hpp>
#include <string>

#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/inbound.hpp"
#include "messages/message_types.hpp"

namespace troupe::node {

using role_service_actor = caf::typed_actor<caf::reacts_to<inbound_atom, bus::inbound>>;

struct role_service_args {
  std::string node_id;
  std::string role;
  std::string subject;           // troupe.<cluster>.svc.<role>
  bool require_principal = false;
  bus::bridge_actor bridge;
};

/// A child spec for the role's supervisor.
supervision::child_spec role_service_child(role_service_args args);

} // namespace troupe::node
