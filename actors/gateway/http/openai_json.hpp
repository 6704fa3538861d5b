#pragma once
/// The OpenAI Chat Completions and Models JSON
/// (https://platform.openai.com/docs/api-reference/chat): the request read
/// into a turn, the completion, the stream chunks, the model objects.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "actors/gateway/chat_backend.hpp"
#include "actors/gateway/http/http_error.hpp"

namespace troupe::gateway::http {

struct completion_request {
  turn_input in; // message, model, session_id, extra_messages, stream
  bool include_usage = false;
};

/// The last message (role user; content a string or text parts) becomes the
/// turn's message; system and developer messages go to extra_messages;
/// earlier user, assistant and tool messages are ignored: the session holds
/// the history. The session is `session_header` (X-Session-ID) or else the
/// `user` field; neither: a new session. Errors name the field (`param`).
std::variant<completion_request, http_error>
parse_completion_request(const nlohmann::json& body, std::string_view session_header);

/// "chatcmpl-<turn_id>"
std::string completion_id(std::string_view turn_id);

/// The chat.completion object of a finished turn.
nlohmann::json completion_json(const troupe::v1::TurnResult& r, int64_t created);

/// {"role":"assistant","content":...,"tool_calls"?,"refusal":null}
nlohmann::json assistant_message_json(const troupe::v1::ChatMessage& m);

/// {"index","id","type":"function","function":{"name","arguments"}}
nlohmann::json openai_tool_call_json(const troupe::v1::ToolCall& c, size_t index);

/// {"id","object":"model","created","owned_by"}
nlohmann::json model_json(const troupe::v1::ModelInfo& m);

} // namespace troupe::gateway::http
