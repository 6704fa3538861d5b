#pragma once
/// The node's bridge between local actors and the bus: one typed actor per
/// node that publishes, sends requests (with a deadline, answered by a typed
/// timeout error), serves subjects for handler actors (queue-group services
/// `troupe.<cluster>.svc.<kind>`, direct addresses
/// `troupe.<cluster>.node.<node>.<kind>.<id>`, or any subscription pattern),
/// and stops serving them.
///
/// Threads: transport callbacks check envelopes and hand them to actors; they
/// never run actor code. Handlers answer through `inbound::reply`, straight
/// to the transport. Hot paths that want to skip the bridge's own mailbox
/// embed a `request_client` (bus/request_client.hpp), which is what the
/// bridge itself uses.
///
/// Lifecycle: the bridge owns its subscriptions. A service goes away on
/// (stop_atom, subject), when its handler actor terminates (the bridge
/// monitors it), and when the bridge exits (everything is unsubscribed).
#include <caf/all.hpp>
#include <cstdint>
#include <memory>
#include <prometheus/registry.h>
#include <string>

#include "bus/dispatch.hpp"
#include "bus/inbound.hpp"
#include "bus/principal.hpp"
#include "bus/request_client.hpp"
#include "bus/transport.hpp"
#include "messages/message_types.hpp"

namespace troupe::bus {

struct bridge_status {
  link_state state = link_state::closed;
  uint64_t published = 0; // envelopes put on the bus: messages, requests, replies, error replies
  uint64_t received = 0;  // envelopes that arrived on served subjects (accepted or not)
  uint64_t rejected = 0;  // of those, refused by the checks
  uint64_t requests = 0;
  uint64_t timeouts = 0;
  size_t services = 0;    // live subscriptions for handlers
};

} // namespace troupe::bus

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bus::bridge_status)

namespace troupe::bus {

/// The typed interface local actors use. A request's answer is the reply
/// envelope, or a bus error (timeout, no_responders, invalid_subject, the
/// errc of a troupe.v1.Error reply, ...). Give the CAF request that carries
/// it a timeout above the bus timeout (or caf::infinite), so the bus error
/// arrives rather than CAF's own request_timeout.
/// `serve` answers true once the subscription is in place; serving the same
/// (subject, queue) for the same handler twice is a no-op. A handler actor
/// with a typed interface is served through a dispatch (bus/dispatch.hpp);
/// a plain actor handle gets every envelope as (inbound_atom, inbound).
using bridge_actor = caf::typed_actor<
  caf::reacts_to<publish_atom, std::string /*subject*/, troupe::v1::Envelope>,
  caf::replies_to<request_atom, std::string /*subject*/, troupe::v1::Envelope,
                  caf::timespan>::with<troupe::v1::Envelope>,
  caf::replies_to<serve_atom, std::string /*subject*/, std::string /*queue, may be empty*/,
                  caf::actor /*handler*/, bool /*require_principal*/>::with<bool>,
  caf::replies_to<serve_atom, std::string /*subject*/, std::string /*queue, may be empty*/,
                  dispatch_ptr /*handlers*/, bool /*require_principal*/>::with<bool>,
  caf::reacts_to<stop_atom, std::string /*subject*/>,
  caf::replies_to<status_atom>::with<bridge_status>>;

struct bridge_config {
  std::string cluster;
  std::string node;
  size_t max_envelope_bytes = 1 << 20; // 0: no limit
  std::shared_ptr<const principal_keys> keys; // may be null: then any principal is refused
  /// Where one-way publishes go: a connection without send_asap batches
  /// bursts (events, stream chunks) that would otherwise cost a write each.
  /// Null: the main transport. One-way messages are then not ordered with
  /// replies; a protocol that needs that order carries sequence numbers.
  transport_ptr one_way;
};

/// Spawns the bridge. Counters troupe_bus_published_total,
/// troupe_bus_received_total, troupe_bus_rejected_total{reason},
/// troupe_bus_requests_total, troupe_bus_request_timeouts_total and
/// troupe_bus_late_replies_total go to `metrics`, which must outlive the
/// bridge.
[[nodiscard]] bridge_actor make_bridge(caf::actor_system& sys, transport_ptr transport,
                                       bridge_config config, prometheus::Registry& metrics);

} // namespace troupe::bus
