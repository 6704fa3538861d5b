#pragma once
/// The session role's front on one node. It serves
///  - `troupe.<cluster>.svc.session` (queue group "session"): ActivateSession
///    (find or create the session, claim it in the directory unless a live
///    node holds it, answer with the owner) and the session queries
///    (ListSessions, GetSession, GetMessages, DeleteSession), every one scoped
///    to the caller's signed principal;
///  - `troupe.<cluster>.node.<node>.session.*`: envelopes for the sessions
///    this node owns, handed to their session actors, which it activates on
///    demand from PostgreSQL (a virtual actor: no one has to create it first).
///
/// Everything that blocks (PostgreSQL, the directory's KV round trips) runs
/// on the store pool's workers; the host only dispatches.
#include "actors/session/session_env.hpp"
#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"

namespace troupe::session {

/// A child spec for the session role's supervisor.
supervision::child_spec session_host_child(session_env_ptr env, bus::bridge_actor bridge);

} // namespace troupe::session
