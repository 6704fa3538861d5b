// POST /v1/chat and POST /v1/chat/stream: the native chat API.
#include "actors/gateway/http/chat_json.hpp"
#include "actors/gateway/http/routes.hpp"
#include "actors/gateway/http/turn.hpp"

namespace troupe::gateway::http {

namespace {

/// The native rendering: the turn JSON, or SSE events delta, tool_call,
/// tool_result, then done or error.
class native_view final : public turn_view {
public:
  std::string chunk(const troupe::v1::TurnChunk& c) override {
    using kind = troupe::v1::TurnChunk::KindCase;
    switch (c.kind_case()) {
    case kind::kDelta:
      return sse_event(
          "delta", {{"session_id", c.session_id()}, {"turn_id", c.turn_id()}, {"text", c.delta()}});
    case kind::kToolCall:
      return sse_event("tool_call", tool_call_json(c.tool_call()));
    case kind::kToolResult: {
      const auto& r = c.tool_result();
      return sse_event("tool_result", {{"tool_call_id", r.tool_call_id()},
                                       {"name", r.name()},
                                       {"content", r.content()},
                                       {"is_error", r.is_error()}});
    }
    default:
      return {};
    }
  }

  std::string done(const troupe::v1::TurnResult& r) override {
    return sse_event("done", turn_json(r));
  }

  std::string failed(const http_error& e) override {
    return sse_event("error", {{"code", e.code}, {"message", e.message}});
  }

  nlohmann::json answer(const troupe::v1::TurnResult& r) override { return turn_json(r); }
};

net::awaitable<void> chat(exchange& x, bool stream) {
  if (!co_await x.admit())
    co_return;
  auto body = co_await x.json_body();
  if (!body)
    co_return;
  auto parsed = parse_chat_request(*body);
  if (auto* e = std::get_if<http_error>(&parsed)) {
    co_await x.fail(*e);
    co_return;
  }
  auto in = std::get<turn_input>(std::move(parsed));
  in.principal = x.principal();
  in.stream = stream;
  native_view view;
  co_await run_turn(x, std::move(in), view);
}

} // namespace

net::awaitable<void> post_chat(exchange& x) {
  return chat(x, false);
}

net::awaitable<void> post_chat_stream(exchange& x) {
  return chat(x, true);
}

} // namespace troupe::gateway::http
