#pragma once
/// The native API's JSON: the chat request, the turn answer (the /v1/chat
/// body and the `done` event), SSE framing. Shapes: README.md.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "actors/gateway/chat_backend.hpp"
#include "actors/gateway/http/http_error.hpp"

namespace troupe::gateway::http {

/// Longest session id or model name a client may send.
constexpr size_t max_id_bytes = 256;

/// True for text that is empty or only whitespace: not a message.
bool is_blank(std::string_view text);

/// {"session_id"?, "message", "model"?} into a turn (principal and stream
/// left to the caller); an error names the field.
std::variant<turn_input, http_error> parse_chat_request(const nlohmann::json& body);

/// {"session_id","turn_id","message":{...},"model","usage":{...},"finish_reason"}
nlohmann::json turn_json(const troupe::v1::TurnResult& r);

/// {"id","name","arguments"}: the model's arguments text, unparsed.
nlohmann::json tool_call_json(const troupe::v1::ToolCall& c);

/// {"prompt_tokens","completion_tokens","total_tokens"}
nlohmann::json usage_json(const troupe::v1::Usage& u);

/// "stop" when the backend left it empty.
std::string finish_reason_of(const troupe::v1::TurnResult& r);

/// `event: <name>\ndata: <json>\n\n`
std::string sse_event(std::string_view name, const nlohmann::json& data);

} // namespace troupe::gateway::http
