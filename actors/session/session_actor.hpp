#pragma once
/// One chat session, activated on this node (a virtual actor: the session
/// host spawns it on demand and it passivates itself when idle). It owns the
/// session's history and runs its turns one at a time, in arrival order:
///
///   TurnRequest -> TURN_STARTED -> inference (svc.inference, chunks relayed
///   to the gateway as TurnChunks) -> persist (PostgreSQL) -> TurnResult
///   -> TURN_COMPLETED
///
/// The seams for the later steps (guardrail, memory, tools, audit) are the
/// stages of `turn_stage` in session_actor.cpp. A turn is answered only once
/// its messages are committed; a failed turn writes nothing and answers with
/// the failing step's error code.
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <vector>

#include "actors/session/session_env.hpp"
#include "troupe/v1/chat.pb.h"

namespace troupe::session {

struct session_start {
  troupe::v1::SessionInfo info;
  std::vector<troupe::v1::ChatMessage> history;
};

/// Handles (inbound_atom, bus::inbound) for TurnRequest, CancelTurn and
/// GenerateChunk envelopes addressed to the session. It exits (normal) when
/// idle for settings.idle_timeout, or when the session is deleted.
caf::actor spawn_session(caf::actor_system& sys, session_env_ptr env, session_start start);

} // namespace troupe::session
