#pragma once
/// The one place where Troupe's CAF message vocabulary is declared: the atoms
/// every typed actor interface uses and the Protobuf types that travel inside
/// local CAF messages. NATS is the network, so these types never go through
/// CAF's serializers; they are announced as local-only.

#include <caf/all.hpp>

#include "troupe/v1/chat.pb.h"
#include "troupe/v1/envelope.pb.h"
#include "troupe/v1/inference.pb.h"
#include "troupe/v1/node.pb.h"
#include "troupe/v1/principal.pb.h"
#include "troupe/v1/turn_event.pb.h"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::v1::Envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::v1::Error)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::v1::Heartbeat)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::v1::NodeInfo)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::v1::TurnEvent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<troupe::v1::ChatMessage>)

namespace troupe {

// Atoms (CAF 0.17: at most 10 characters).
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using request_atom = caf::atom_constant<caf::atom("request")>;
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using serve_atom = caf::atom_constant<caf::atom("serve")>;
using inbound_atom = caf::atom_constant<caf::atom("inbound")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using stable_atom = caf::atom_constant<caf::atom("stable")>;
using spawn_atom = caf::atom_constant<caf::atom("spawn")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using migrate_atom = caf::atom_constant<caf::atom("migrate")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

/// Announces Troupe's message types and error categories on a CAF config.
/// Every executable calls this once, before the actor system starts.
void announce_message_types(caf::actor_system_config& cfg);

} // namespace troupe
