#pragma once
/// The answers of a session's last committed turns, by turn id, so that a
/// turn sent again under the same id — the gateway re-sending it after its
/// host died, or a client retrying with the same Idempotency-Key — gets the
/// answer it already had instead of running twice. Built from the history a
/// session loads on activation (the turns of its last messages) and kept
/// current as turns commit; bounded, oldest forgotten first.
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ids.hpp"
#include "troupe/v1/chat.pb.h"

namespace troupe::session {

class recent_turns {
public:
  explicit recent_turns(size_t limit) : limit_(limit) {}

  /// The turns of a loaded history (oldest first; each message names the
  /// turn that wrote it). Rebuilt answers carry what the messages hold: the
  /// reply, every message of the turn, a finish reason read from the reply;
  /// no usage, and `model` as given (the session's model).
  void load(const std::vector<troupe::v1::ChatMessage>& history, const session_id& session,
            const std::string& model);

  /// A turn just committed and answered with `result`.
  void add(const troupe::v1::TurnResult& result);

  /// What turn `id` answered, marked replayed, or nullopt when it is not one
  /// of the recent turns.
  [[nodiscard]] std::optional<troupe::v1::TurnResult> find(const turn_id& id) const;

  /// The user's text of turn `id` (empty when it had none, or is unknown): a
  /// retry must ask the same question to get the same answer.
  [[nodiscard]] std::string question(const turn_id& id) const;

  [[nodiscard]] size_t size() const noexcept { return order_.size(); }

private:
  void put(troupe::v1::TurnResult result);

  size_t limit_;
  std::deque<turn_id> order_; // oldest first
  std::unordered_map<turn_id, troupe::v1::TurnResult> by_id_;
};

} // namespace troupe::session
