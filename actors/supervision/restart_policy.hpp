#pragma once
/// How a supervisor reacts to a crashing child, and the pure decision logic
/// behind it. The logic takes its time points as arguments so it can be
/// tested exhaustively without a scheduler or a clock.
#include <caf/timespan.hpp>
#include <chrono>
#include <cstdint>
#include <deque>

namespace troupe::supervision {

/// One policy per supervisor, applied to each of its children on its own.
struct restart_policy {
  /// More than this many crashes of one child inside `window` escalate.
  uint32_t max_restarts = 5;
  caf::timespan window = std::chrono::seconds{30};
  /// Delay before the first restart after a stable run; doubles per
  /// consecutive crash, capped at `backoff_max`.
  caf::timespan backoff_initial = std::chrono::milliseconds{50};
  caf::timespan backoff_max = std::chrono::seconds{5};
  /// A child that ran this long before crashing starts over at
  /// `backoff_initial`: an occasional crash should not inherit old penalties.
  caf::timespan stable_after = std::chrono::seconds{10};
  /// How long an orderly stop waits for children to exit before killing them.
  caf::timespan stop_timeout = std::chrono::seconds{5};
};

/// What to do about one crash.
struct restart_decision {
  /// True: the budget is spent; do not restart, fail upwards.
  bool escalate = false;
  /// How long to wait before restarting (zero when escalating).
  caf::timespan delay{0};
};

/// The crash history of one child. Not thread-safe: owned by one actor.
class restart_tracker {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  explicit restart_tracker(restart_policy policy);

  /// Records a crash at `now` of a child that was started at `started`.
  /// A time point before `started` counts as a run of zero length.
  [[nodiscard]] restart_decision on_crash(time_point started, time_point now);

  /// Restarts decided so far (escalations are not restarts).
  [[nodiscard]] uint32_t restarts() const noexcept {
    return restarts_;
  }

  /// Crashes currently remembered inside the window (as of the last crash).
  [[nodiscard]] size_t crashes_in_window() const noexcept {
    return crashes_.size();
  }

  [[nodiscard]] const restart_policy& policy() const noexcept {
    return policy_;
  }

private:
  restart_policy policy_;
  std::deque<time_point> crashes_;
  caf::timespan next_delay_;
  uint32_t restarts_ = 0;
};

} // namespace troupe::supervision
