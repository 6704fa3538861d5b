#pragma once
/// The gateway actor: what the HTTP front's chat_backend talks to. It signs
/// the caller's principal, finds the node that hosts a session (asking
/// svc.session, which claims and activates it), sends the turn to that
/// session actor's direct address and hands the answer back — the streamed
/// chunks as partial replies to that same request, in order, then the
/// result. Every reply must echo the caller's principal (a chunk forged onto
/// the gateway's reply subject is refused and counted). A session whose node
/// stopped answering (no responders, or session_moved) is re-activated
/// elsewhere and the turn resent under the same turn id, which the session
/// answers from its commit if it ran already. While turns are in flight on
/// another node, the gateway pings that node's control subject: no
/// responders means the process is gone; no answer at all for
/// `owner_silence_limit` (a hung or cut-off node) counts as gone too.
///
/// Activations and session queries go to the least loaded live session node
/// the heartbeats name (session_placement.hpp), or to the svc.session queue
/// group while none is known.
///
/// It runs under the gateway role's supervisor. The backend reaches it
/// through a gateway_slot, which the supervisor's restarts keep current; a
/// gateway that dies fails everything it had in flight (503) rather than
/// leaving callers to their timeouts.
#include <caf/typed_actor.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "actors/gateway/chat_backend.hpp"
#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/principal.hpp"
#include "bus/request_client.hpp"
#include "bus/transport.hpp"
#include "common/ids.hpp"

namespace troupe::gateway {

using chunk_fn = std::function<void(const troupe::v1::TurnChunk&)>;
using reply_fn = std::function<void(caf::expected<bus::reply>)>;

/// One turn for the gateway to run.
struct chat_job {
  turn_input in;
  turn_id turn;
  chunk_fn on_chunk;
  callback<troupe::v1::TurnResult> done;
};

/// A request to a service (svc.<kind>) on the caller's behalf; `payload` is
/// the request's Envelope without its addressing.
struct query_job {
  troupe::v1::Principal who;
  std::string kind;
  troupe::v1::Envelope payload;
  reply_fn done;
  std::string forget_session; // a DeleteSession's id: its owner is no longer cached
};

} // namespace troupe::gateway

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::gateway::chat_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::gateway::query_job)

namespace troupe::gateway {

using chat_atom = caf::atom_constant<caf::atom("chat")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;

using gateway_actor =
  caf::typed_actor<caf::reacts_to<chat_atom, chat_job>, caf::reacts_to<query_atom, query_job>,
                   caf::reacts_to<cancel_atom, turn_id>>;

struct gateway_config {
  std::string node_id;
  std::string cluster;
  bus::transport_ptr transport;
  std::shared_ptr<const bus::principal_keys> keys; // signs principals; must hold a key
  bus::bridge_actor bridge;                        // serves svc.gateway (Ping)
  std::chrono::milliseconds turn_timeout{120'000};
  std::chrono::milliseconds request_timeout{5'000};
  /// How often the nodes running this gateway's turns are checked; a turn
  /// whose host died is re-sent within about twice this.
  std::chrono::milliseconds owner_probe_interval{500};
  /// A node that has answered neither a probe nor with a chunk for this
  /// long is taken for dead; a slow probe alone never is.
  std::chrono::milliseconds owner_silence_limit{4'000};
  /// A session node whose heartbeat is older than this is not placed on.
  std::chrono::milliseconds node_expiry{6'000};
  size_t max_envelope_bytes = 1 << 20;
  prometheus::Registry* metrics = nullptr;
};

/// The running gateway actor, as the backend finds it.
class gateway_slot {
public:
  /// Invalid while the supervisor restarts it.
  [[nodiscard]] gateway_actor get() const {
    std::lock_guard lk{m_};
    return actor_;
  }
  void set(gateway_actor a) {
    std::lock_guard lk{m_};
    actor_ = std::move(a);
  }
  void clear(const caf::actor_addr& gone) {
    std::lock_guard lk{m_};
    if (actor_ && actor_.address() == gone)
      actor_ = nullptr;
  }

private:
  mutable std::mutex m_;
  gateway_actor actor_;
};

using gateway_slot_ptr = std::shared_ptr<gateway_slot>;

/// A child spec for the gateway role's supervisor: each start puts the new
/// actor into `slot`.
[[nodiscard]] supervision::child_spec gateway_child(gateway_config cfg, gateway_slot_ptr slot);

} // namespace troupe::gateway
