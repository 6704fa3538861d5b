#include "actors/gateway/http/chat_json.hpp"

#include <algorithm>
#include <cctype>

#include "actors/gateway/http/json_fields.hpp"
#include "common/json_body.hpp"

namespace troupe::gateway::http {

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

std::variant<turn_input, http_error> parse_chat_request(const nlohmann::json& body) {
  json_fields f{body};
  turn_input in;
  auto message = f.string("message");
  in.session_id = f.string("session_id", max_id_bytes).value_or("");
  in.model = f.string("model", max_id_bytes).value_or("");
  if (!message && !f.error())
    f.reject("message", "is required");
  else if (message && is_blank(*message))
    f.reject("message", "must not be empty");
  if (f.error())
    return *f.error();
  in.message = std::move(*message);
  return in;
}

nlohmann::json tool_call_json(const troupe::v1::ToolCall& c) {
  return {{"id", c.id()}, {"name", c.name()}, {"arguments", c.arguments_json()}};
}

nlohmann::json usage_json(const troupe::v1::Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens()},
          {"completion_tokens", u.completion_tokens()},
          {"total_tokens", u.total_tokens()}};
}

std::string finish_reason_of(const troupe::v1::TurnResult& r) {
  return r.finish_reason().empty() ? "stop" : r.finish_reason();
}

nlohmann::json turn_json(const troupe::v1::TurnResult& r) {
  nlohmann::json message{{"role", "assistant"}, {"content", r.reply().content()}};
  if (r.reply().tool_calls_size() > 0) {
    auto& calls = message["tool_calls"] = nlohmann::json::array();
    for (const auto& c : r.reply().tool_calls())
      calls.push_back(tool_call_json(c));
  }
  return {{"session_id", r.session_id()},   {"turn_id", r.turn_id()},
          {"message", std::move(message)},  {"model", r.model()},
          {"usage", usage_json(r.usage())}, {"finish_reason", finish_reason_of(r)}};
}

std::string sse_event(std::string_view name, const nlohmann::json& data) {
  // JSON text has no raw newline, so one data line carries it.
  return "event: " + std::string{name} + "\ndata: " + to_json_text(data) + "\n\n";
}

} // namespace troupe::gateway::http
