#pragma once
/// The session role's front on one node. It serves
///  - `troupe.<cluster>.svc.session` (queue group "session"): ActivateSession
///    — find or create the session, claim it in the directory unless a live
///    node holds it, and when this node is the owner spawn its actor, all
///    for this one message — and the session queries (ListSessions,
///    GetSession, GetMessages, DeleteSession), each scoped to the caller's
///    signed principal; and the same on `troupe.<cluster>.node.<node>.svc.session`
///    for a gateway that chose this node (docs/ARCHITECTURE.md, placement);
///  - `troupe.<cluster>.node.<node>.session.<id>`: a routed dispatch hands
///    each envelope to the live session actor itself (no forwarding mailbox);
///    only envelopes for a session not live here come to the host, which
///    activates it (it may have passivated, or this node restarted).
///
/// PostgreSQL work runs on the store pool's workers, directory (KV) round
/// trips on workers of their own: a slow KV never holds a database worker.
///
/// Passivation: an idle session asks (passivate_atom, id); the host stops
/// routing to it — under the lock the router takes, so every envelope routed
/// to it before is already in its mailbox — and answers passivate. The
/// session then quits, or, if work came meanwhile, says (resume_atom, id)
/// and the host routes to it again. Envelopes that come while it decides
/// wait at the host.
#include <caf/typed_actor.hpp>

#include "actors/session/session_actor.hpp"
#include "actors/session/session_env.hpp"
#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/request_client.hpp"
#include "troupe/v1/node.pb.h"

namespace troupe::session {

using session_host_actor = caf::typed_actor<
  caf::reacts_to<bus::in<troupe::v1::Ping>>, caf::reacts_to<bus::in<troupe::v1::ActivateSession>>,
  caf::reacts_to<bus::in<troupe::v1::ListSessions>>,
  caf::reacts_to<bus::in<troupe::v1::GetSession>>,
  caf::reacts_to<bus::in<troupe::v1::GetMessages>>,
  caf::reacts_to<bus::in<troupe::v1::DeleteSession>>,
  // direct envelopes for sessions not live on this node
  caf::reacts_to<bus::in<troupe::v1::TurnRequest>>, caf::reacts_to<bus::in<troupe::v1::CancelTurn>>,
  caf::reacts_to<bus::in<troupe::v1::SessionDeleted>>,
  caf::reacts_to<passivate_atom, std::string>, caf::reacts_to<resume_atom, std::string>>;

/// A child spec for the session role's supervisor.
supervision::child_spec session_host_child(session_env_ptr env, bus::bridge_actor bridge);

} // namespace troupe::session
