#pragma once
/// The turns of one session, as a plain class around turn_machine: they run
/// one at a time, in arrival order. At most `max_queued` wait behind the
/// running one; a turn that arrives when the queue is full is refused at
/// once (session_busy) without starting. A queued turn whose deadline passes
/// fails where it waits (tick); a cancelled one never starts. A cancel that
/// arrives before its turn (the two can take different paths on the bus) is
/// remembered for a while, and the turn is refused when it comes.
///
/// Every effect is tagged with the turn it belongs to, so the session actor
/// answers the right request. When the running turn finishes, the next one
/// starts within the same call (iteratively: a run of queued turns that all
/// expired ends in one pass, without recursion).
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "actors/session/turn_machine.hpp"

namespace troupe::session {

class turn_queue {
public:
  struct tagged {
    turn_id turn;
    effect what;
  };
  using out = std::vector<tagged>;

  /// `history_size` is asked when a turn starts (the history grows with each
  /// committed turn).
  turn_queue(pipeline p, turn_context ctx, size_t max_queued,
             std::function<uint32_t()> history_size);

  /// A new turn: starts now when nothing runs, else waits, or is refused.
  [[nodiscard]] out arrive(turn_start t, turn_clock::time_point now);

  /// Cancels a queued or running turn; an unknown id is remembered.
  [[nodiscard]] out cancel(const turn_id& id, turn_clock::time_point now);

  /// Deadlines: of the running turn, and of queued turns.
  [[nodiscard]] out tick(turn_clock::time_point now);

  /// Feeds an input to the running turn, when `id` is the running turn: `f`
  /// gets the turn_machine and returns its effects.
  template <class F>
  [[nodiscard]] out to_current(const turn_id& id, turn_clock::time_point now, F&& f) {
    out result;
    if (current_ && current_->id() == id)
      add(result, current_->id(), f(*current_));
    advance(result, now);
    return result;
  }

  /// Ends every turn (the session stops): each fails with `error`.
  [[nodiscard]] out abort_all(const troupe::v1::Error& error);

  [[nodiscard]] bool idle() const noexcept { return !current_ && waiting_.empty(); }
  [[nodiscard]] const turn_machine* current() const noexcept {
    return current_ ? &*current_ : nullptr;
  }
  [[nodiscard]] size_t queued() const noexcept { return waiting_.size(); }
  /// The earliest deadline among the running and the queued turns.
  [[nodiscard]] std::optional<turn_clock::time_point> next_deadline() const;

private:
  /// Bound on the cancels remembered for turns not seen yet.
  static constexpr size_t max_early_cancels = 64;

  static void add(out& to, const turn_id& id, effects fx);
  /// Starts queued turns while nothing runs.
  void advance(out& result, turn_clock::time_point now);
  turn_machine make(turn_start t) const;
  /// A turn that never started: refused with `error`, no events.
  static void refuse(out& result, const turn_id& id, troupe::v1::Error error);

  pipeline pipeline_;
  turn_context ctx_;
  size_t max_queued_;
  std::function<uint32_t()> history_size_;
  std::optional<turn_machine> current_;
  std::deque<turn_start> waiting_;
  std::deque<turn_id> early_cancels_;
};

} // namespace troupe::session
