#include "actors/session/turn_queue.hpp"

#include <algorithm>

#include "actors/session/errc.hpp"

namespace troupe::session {

turn_queue::turn_queue(pipeline p, turn_context ctx, size_t max_queued,
                       std::function<uint32_t()> history_size)
  : pipeline_(p),
    ctx_(std::move(ctx)),
    max_queued_(max_queued),
    history_size_(std::move(history_size)) {}

void turn_queue::add(out& to, const turn_id& id, effects fx) {
  for (auto& e : fx)
    to.push_back({id, std::move(e)});
}

void turn_queue::refuse(out& result, const turn_id& id, troupe::v1::Error error) {
  result.push_back({id, fx::fail{std::move(error)}});
}

turn_machine turn_queue::make(turn_start t) const {
  t.history_messages = history_size_ ? history_size_() : 0;
  return turn_machine{pipeline_, ctx_, std::move(t)};
}

void turn_queue::advance(out& result, turn_clock::time_point now) {
  // A loop, not recursion: each started turn may finish at once (expired).
  for (;;) {
    if (current_ && !current_->finished())
      return;
    current_.reset();
    if (waiting_.empty())
      return;
    current_.emplace(make(std::move(waiting_.front())));
    waiting_.pop_front();
    add(result, current_->id(), current_->start(now));
  }
}

turn_queue::out turn_queue::arrive(turn_start t, turn_clock::time_point now) {
  out result;
  if (auto it = std::find(early_cancels_.begin(), early_cancels_.end(), t.turn);
      it != early_cancels_.end()) {
    early_cancels_.erase(it);
    refuse(result, t.turn, error_of(errc::cancelled, "the turn was cancelled before it arrived"));
    return result;
  }
  if (current_ && waiting_.size() >= max_queued_) {
    refuse(result, t.turn,
           error_of(errc::session_busy, "the session has " + std::to_string(waiting_.size())
                                          + " turns waiting already; retry later"));
    return result;
  }
  waiting_.push_back(std::move(t));
  advance(result, now);
  return result;
}

turn_queue::out turn_queue::cancel(const turn_id& id, turn_clock::time_point now) {
  out result;
  if (current_ && current_->id() == id) {
    add(result, id, current_->cancel());
    advance(result, now);
    return result;
  }
  auto it = std::find_if(waiting_.begin(), waiting_.end(),
                         [&](const turn_start& t) { return t.turn == id; });
  if (it != waiting_.end()) {
    waiting_.erase(it);
    refuse(result, id, error_of(errc::cancelled, "the turn was cancelled while queued"));
    return result;
  }
  if (std::find(early_cancels_.begin(), early_cancels_.end(), id) == early_cancels_.end()) {
    if (early_cancels_.size() >= max_early_cancels)
      early_cancels_.pop_front();
    early_cancels_.push_back(id);
  }
  return result;
}

turn_queue::out turn_queue::tick(turn_clock::time_point now) {
  out result;
  if (current_)
    add(result, current_->id(), current_->tick(now));
  // Expired queued turns fail where they wait, as if started late: their
  // events say what was asked and why it never ran.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->deadline > now) {
      ++it;
      continue;
    }
    auto late = make(std::move(*it));
    it = waiting_.erase(it);
    add(result, late.id(), late.start(now));
  }
  advance(result, now);
  return result;
}

turn_queue::out turn_queue::abort_all(const troupe::v1::Error& error) {
  out result;
  if (current_)
    add(result, current_->id(), current_->abort(error));
  current_.reset();
  for (auto& t : waiting_)
    refuse(result, t.turn, error);
  waiting_.clear();
  return result;
}

std::optional<turn_clock::time_point> turn_queue::next_deadline() const {
  std::optional<turn_clock::time_point> at;
  auto consider = [&](turn_clock::time_point d) {
    if (d != turn_clock::time_point::max() && (!at || d < *at))
      at = d;
  };
  if (current_ && !current_->finished())
    consider(current_->deadline());
  for (const auto& t : waiting_)
    consider(t.deadline);
  return at;
}

} // namespace troupe::session
