#include "actors/session/recent_turns.hpp"

namespace troupe::session {

namespace {

troupe::v1::TurnResult rebuilt(const std::string& session, const std::string& turn,
                               const std::string& model,
                               std::vector<const troupe::v1::ChatMessage*> msgs) {
  troupe::v1::TurnResult r;
  r.set_session_id(session);
  r.set_turn_id(turn);
  r.set_model(model);
  for (const auto* m : msgs)
    *r.add_messages() = *m;
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it)
    if ((*it)->role() == "assistant") {
      *r.mutable_reply() = **it;
      r.set_finish_reason((*it)->tool_calls_size() > 0 ? "tool_calls" : "stop");
      break;
    }
  return r;
}

} // namespace

void recent_turns::load(const std::vector<troupe::v1::ChatMessage>& history,
                        const session_id& session, const std::string& model) {
  // The first turn of a history cut by its window may have lost its first
  // messages (the question): it is kept only if its user message survived.
  std::vector<const troupe::v1::ChatMessage*> turn;
  auto flush = [&] {
    if (turn.empty())
      return;
    if (turn.front()->role() == "user") {
      auto id = turn.front()->turn_id(); // before `turn` is moved into the call
      put(rebuilt(session.str(), id, model, std::move(turn)));
    }
    turn.clear();
  };
  for (const auto& m : history) {
    if (!turn.empty() && turn.front()->turn_id() != m.turn_id())
      flush();
    if (!m.turn_id().empty())
      turn.push_back(&m);
  }
  flush();
}

void recent_turns::add(const troupe::v1::TurnResult& result) {
  put(result);
}

void recent_turns::put(troupe::v1::TurnResult result) {
  if (limit_ == 0 || result.turn_id().empty())
    return;
  turn_id id{result.turn_id()};
  auto [it, fresh] = by_id_.insert_or_assign(id, std::move(result));
  if (!fresh)
    return;
  order_.push_back(std::move(id));
  if (order_.size() > limit_) {
    by_id_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<troupe::v1::TurnResult> recent_turns::find(const turn_id& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end())
    return std::nullopt;
  auto r = it->second;
  r.set_replayed(true);
  return r;
}

std::string recent_turns::question(const turn_id& id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end())
    return {};
  for (const auto& m : it->second.messages())
    if (m.role() == "user")
      return m.content();
  return {};
}

} // namespace troupe::session
