#pragma once
/// Where the gateway sends a session activation or a session query: the live
/// session node with the fewest sessions, as the cluster's heartbeats report
/// them (each carries its node's `sessions_active`), counting the sessions
/// this gateway placed there since that report so a burst of new sessions
/// between two heartbeats does not all land on one node. This is Orleans'
/// activation-count placement, fed by the heartbeats the nodes publish anyway.
///
/// A node is live while its last heartbeat is younger than the expiry and it
/// said it was ready; one the gateway found dead (no responders, silence) is
/// out until it is heard again. With no live node known (a gateway that has
/// not heard a heartbeat yet) there is no pick, and the caller falls back to
/// the svc.session queue group. A plain class: the clock is passed in.
#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "common/ids.hpp"

namespace troupe::gateway {

class session_placement {
public:
  using clock = std::chrono::steady_clock;

  explicit session_placement(clock::duration expiry) : expiry_{expiry} {}

  /// A heartbeat of a node with the session role.
  void heard(const node_id& node, uint32_t sessions_active, bool ready, clock::time_point now);
  /// The node did not answer as a live one would: not picked until heard again.
  void gone(const node_id& node);

  /// The least loaded live node other than `avoid`, counted as one session
  /// busier from now on.
  [[nodiscard]] std::optional<node_id> pick(clock::time_point now, const node_id& avoid = {});

  [[nodiscard]] size_t size() const noexcept { return nodes_.size(); }

private:
  struct node_load {
    uint32_t reported = 0;
    uint32_t placed = 0; // by this gateway since the report
    bool ready = false;
    clock::time_point heard_at;
  };
  clock::duration expiry_;
  std::unordered_map<node_id, node_load> nodes_;
  uint64_t turn_ = 0; // rotates the pick among equally loaded nodes
};

} // namespace troupe::gateway
