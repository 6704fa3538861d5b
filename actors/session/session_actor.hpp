#pragma once
/// One chat session, activated on this node (a virtual actor: the session
/// host spawns it when a session is first asked for here, and it passivates
/// when idle). A thin shell over turn_queue: it feeds the queue what arrives
/// — turn requests and cancels off the bus, model replies, commit outcomes,
/// event acknowledgements, the time — and carries out the effects the turns
/// return: model requests to svc.inference, partial replies to a streaming
/// client, the commit, turn events to the event log, the answer.
///
/// Every request and cancel must carry the session owner's verified
/// principal; a model's streamed chunks and its result are taken only from
/// replies that echo that principal on this request's own reply subject
/// (bus/request_client.hpp), so nothing forged onto NATS reaches the turn.
#include <caf/actor_system.hpp>
#include <caf/typed_actor.hpp>
#include <vector>

#include "actors/session/session_env.hpp"
#include "bus/dispatch.hpp"
#include "troupe/v1/chat.pb.h"

namespace troupe::session {

using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;

/// What the bus and the session host send a session.
///  - in<TurnRequest>, in<CancelTurn>: from the gateway, on the session's
///    direct subject;
///  - passivate: the host's answer to the session's own (passivate_atom, id):
///    it routes nothing more here; the session quits if still idle, else it
///    sends (resume_atom, id) and goes on;
///  - in<SessionDeleted>: the host that deleted the session (any node's)
///    says so: every turn fails session_not_found, the history is dropped,
///    the actor answers and quits.
using session_actor = caf::typed_actor<caf::reacts_to<bus::in<troupe::v1::TurnRequest>>,
                                       caf::reacts_to<bus::in<troupe::v1::CancelTurn>>,
                                       caf::reacts_to<bus::in<troupe::v1::SessionDeleted>>,
                                       caf::reacts_to<passivate_atom>>;

struct session_start {
  troupe::v1::SessionInfo info;
  std::vector<troupe::v1::ChatMessage> history;
  /// Told (passivate_atom, session id) when the session is idle and
  /// (resume_atom, session id) when it got work while passivating.
  caf::actor host;
};

[[nodiscard]] session_actor spawn_session(caf::actor_system& sys, session_env_ptr env,
                                          session_start start);

} // namespace troupe::session
