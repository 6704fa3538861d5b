#include "actors/supervision/restart_policy.hpp"

#include <algorithm>

namespace troupe::supervision {

namespace {

/// Negative durations in a policy mean "none": a negative delay would make
/// delayed_send fire at once anyway, and a negative window would hold nothing.
caf::timespan non_negative(caf::timespan x) {
  return std::max(x, caf::timespan{0});
}

caf::timespan first_delay(const restart_policy& p) {
  return std::min(non_negative(p.backoff_initial), non_negative(p.backoff_max));
}

} // namespace

restart_tracker::restart_tracker(restart_policy policy)
  : policy_(policy), next_delay_(first_delay(policy)) {
}

restart_decision restart_tracker::on_crash(time_point started, time_point now) {
  auto ran = now > started ? caf::timespan{now - started} : caf::timespan{0};
  if (ran >= non_negative(policy_.stable_after))
    next_delay_ = first_delay(policy_);
  // Sliding window: a crash counts while it is younger than `window`.
  auto window = non_negative(policy_.window);
  while (!crashes_.empty() && now - crashes_.front() >= window)
    crashes_.pop_front();
  crashes_.push_back(now);
  if (crashes_.size() > policy_.max_restarts) {
    // Only max_restarts + 1 entries ever matter; keep the history bounded.
    while (crashes_.size() > static_cast<size_t>(policy_.max_restarts) + 1)
      crashes_.pop_front();
    return {true, caf::timespan{0}};
  }
  auto delay = next_delay_;
  auto cap = non_negative(policy_.backoff_max);
  next_delay_ = next_delay_ > cap / 2 ? cap : next_delay_ * 2;
  ++restarts_;
  return {false, delay};
}

} // namespace troupe::supervision
