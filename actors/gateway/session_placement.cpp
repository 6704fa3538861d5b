#include "actors/gateway/session_placement.hpp"

#include <vector>

namespace troupe::gateway {

void session_placement::heard(const node_id& node, uint32_t sessions_active, bool ready,
                              clock::time_point now) {
  nodes_[node] = {sessions_active, 0, ready, now};
}

void session_placement::gone(const node_id& node) { nodes_.erase(node); }

std::optional<node_id> session_placement::pick(clock::time_point now, const node_id& avoid) {
  std::vector<std::pair<uint64_t, const node_id*>> live;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (now - it->second.heard_at > expiry_) {
      it = nodes_.erase(it);
      continue;
    }
    if (it->second.ready && it->first != avoid)
      live.emplace_back(uint64_t{it->second.reported} + it->second.placed, &it->first);
    ++it;
  }
  if (live.empty())
    return std::nullopt;
  uint64_t least = live.front().first;
  for (const auto& [load, node] : live)
    least = std::min(least, load);
  std::vector<const node_id*> tied;
  for (const auto& [load, node] : live)
    if (load == least)
      tied.push_back(node);
  const node_id& chosen = *tied[turn_++ % tied.size()];
  ++nodes_.at(chosen).placed;
  return chosen;
}

} // namespace troupe::gateway
