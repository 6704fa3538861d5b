// GET /v1/sessions, GET and DELETE /v1/sessions/{id}, GET
// /v1/sessions/{id}/messages: the principal's own sessions. Shapes: README.md.
#include <charconv>

#include "actors/gateway/http/chat_json.hpp"
#include "actors/gateway/http/exchange.hpp"
#include "actors/gateway/http/routes.hpp"

namespace troupe::gateway::http {

namespace {

nlohmann::json session_json(const troupe::v1::SessionInfo& s) {
  return {{"id", s.id()},
          {"title", s.title()},
          {"model", s.model()},
          {"message_count", s.message_count()},
          {"created_unix_ms", s.created_unix_ms()},
          {"updated_unix_ms", s.updated_unix_ms()}};
}

nlohmann::json message_json(const troupe::v1::ChatMessage& m) {
  nlohmann::json out{{"id", m.id()},
                     {"role", m.role()},
                     {"content", m.content()},
                     {"turn_id", m.turn_id()},
                     {"created_unix_ms", m.created_unix_ms()}};
  if (m.tool_calls_size() > 0) {
    auto& calls = out["tool_calls"] = nlohmann::json::array();
    for (const auto& c : m.tool_calls())
      calls.push_back(tool_call_json(c));
  }
  if (!m.tool_call_id().empty())
    out["tool_call_id"] = m.tool_call_id();
  if (!m.name().empty())
    out["name"] = m.name();
  return out;
}

/// ?limit as 1..`max`; 0 when absent. Answers 400 and gives nullopt when it is not.
net::awaitable<std::optional<uint32_t>> limit_of(exchange& x, uint32_t max) {
  auto text = x.query("limit");
  if (!text)
    co_return 0u;
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec == std::errc{} && end == text->data() + text->size() && n >= 1 && n <= max)
    co_return n;
  co_await x.fail(invalid_field("limit", "must be an integer from 1 to " + std::to_string(max)));
  co_return std::nullopt;
}

} // namespace

net::awaitable<void> get_sessions(exchange& x) {
  if (!co_await x.admit())
    co_return;
  auto limit = co_await limit_of(x, 200);
  if (!limit)
    co_return;
  troupe::v1::ListSessions q;
  q.set_limit(*limit);
  q.set_before_id(x.query("before").value_or(""));
  auto list = co_await x.call<troupe::v1::SessionList>([&](callback<troupe::v1::SessionList> done) {
    x.ctx().backend->list_sessions(x.principal(), q, std::move(done));
  });
  if (!list)
    co_return;
  auto sessions = nlohmann::json::array();
  for (const auto& s : list->sessions())
    sessions.push_back(session_json(s));
  // Braced lists stay out of co_await expressions: GCC 12 rejects them there.
  nlohmann::json body{{"sessions", std::move(sessions)}, {"has_more", list->has_more()}};
  co_await x.reply(body);
}

net::awaitable<void> get_session(exchange& x) {
  if (!co_await x.admit())
    co_return;
  auto info = co_await x.call<troupe::v1::SessionInfo>([&](callback<troupe::v1::SessionInfo> done) {
    x.ctx().backend->get_session(x.principal(), x.id(), std::move(done));
  });
  if (info)
    co_await x.reply(session_json(*info));
}

net::awaitable<void> get_messages(exchange& x) {
  if (!co_await x.admit())
    co_return;
  auto limit = co_await limit_of(x, 1000);
  if (!limit)
    co_return;
  troupe::v1::GetMessages q;
  q.set_session_id(x.id());
  q.set_limit(*limit);
  auto list = co_await x.call<troupe::v1::MessageList>([&](callback<troupe::v1::MessageList> done) {
    x.ctx().backend->get_messages(x.principal(), q, std::move(done));
  });
  if (!list)
    co_return;
  auto messages = nlohmann::json::array();
  for (const auto& m : list->messages())
    messages.push_back(message_json(m));
  nlohmann::json body{{"session_id", x.id()}, {"messages", std::move(messages)}};
  co_await x.reply(body);
}

net::awaitable<void> delete_session(exchange& x) {
  if (!co_await x.admit())
    co_return;
  auto gone =
      co_await x.call<troupe::v1::SessionDeleted>([&](callback<troupe::v1::SessionDeleted> done) {
        x.ctx().backend->delete_session(x.principal(), x.id(), std::move(done));
      });
  if (!gone)
    co_return;
  nlohmann::json body{{"session_id", gone->session_id()}, {"deleted", true}};
  co_await x.reply(body);
}

} // namespace troupe::gateway::http
