#include "actors/gateway/http/openai_json.hpp"

#include "actors/gateway/http/chat_json.hpp"
#include "actors/gateway/http/json_fields.hpp"

namespace troupe::gateway::http {

namespace {

/// A message's content: a string, or an array of {"type":"text","text"} parts
/// (joined by newlines). nullopt after recording the problem in `f`.
std::optional<std::string> text_content(const nlohmann::json& message, json_fields& f,
                                        const std::string& where) {
  auto it = message.find("content");
  if (it != message.end() && it->is_string())
    return it->get<std::string>();
  if (it == message.end() || !it->is_array()) {
    f.reject(where + ".content", "must be a string or an array of text parts");
    return std::nullopt;
  }
  std::string text;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& part = (*it)[i];
    auto type = part.is_object() ? part.find("type") : part.end();
    auto body = part.is_object() ? part.find("text") : part.end();
    if (type == part.end() || *type != "text" || body == part.end() || !body->is_string()) {
      f.reject(where + ".content[" + std::to_string(i) + "]",
               "only parts {\"type\":\"text\",\"text\":...} are supported");
      return std::nullopt;
    }
    if (i > 0)
      text += '\n';
    text += body->get<std::string>();
  }
  return text;
}

void read_messages(const nlohmann::json& messages, json_fields& f, completion_request& out) {
  if (messages.empty()) {
    f.reject("messages", "must hold at least one message");
    return;
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    auto where = "messages[" + std::to_string(i) + "]";
    const auto& m = messages[i];
    auto role = m.is_object() ? m.find("role") : m.end();
    if (!m.is_object() || role == m.end() || !role->is_string()) {
      f.reject(where + ".role", "must be a string");
      return;
    }
    bool last = i + 1 == messages.size();
    if (*role == "system" || *role == "developer") {
      if (last)
        break;
      auto text = text_content(m, f, where);
      if (!text)
        return;
      troupe::v1::ChatMessage sys;
      sys.set_role("system");
      sys.set_content(std::move(*text));
      out.in.extra_messages.push_back(std::move(sys));
    } else if (last && *role == "user") {
      auto text = text_content(m, f, where);
      if (text && is_blank(*text))
        f.reject(where + ".content", "must not be empty");
      else if (text)
        out.in.message = std::move(*text);
      return;
    }
  }
  f.reject("messages", "the last message must have role \"user\"");
}

} // namespace

std::variant<completion_request, http_error>
parse_completion_request(const nlohmann::json& body, std::string_view session_header) {
  json_fields f{body};
  completion_request out;
  auto model = f.string("model", max_id_bytes);
  const auto* messages = f.array("messages");
  auto user = f.string("user", max_id_bytes);
  out.in.stream = f.boolean("stream").value_or(false);
  // Accepted for compatibility; the session's model settings decide.
  (void)f.number("temperature");
  (void)f.number("top_p");
  (void)f.integer("max_tokens");
  (void)f.integer("max_completion_tokens");
  if (auto n = f.integer("n"); n && *n != 1)
    f.reject("n", "only 1 is supported");
  if (const auto* opts = f.object("stream_options")) {
    if (!out.in.stream)
      f.reject("stream_options", "is only allowed when stream is true");
    json_fields o{*opts, "stream_options."};
    out.include_usage = o.boolean("include_usage").value_or(false);
    if (o.error())
      return *o.error();
  }
  if (!model && !f.error())
    f.reject("model", "is required");
  else if (model && model->empty())
    f.reject("model", "must not be empty");
  if (!messages && !f.error())
    f.reject("messages", "is required");
  else if (messages && !f.error())
    read_messages(*messages, f, out);
  if (f.error())
    return *f.error();
  out.in.model = std::move(*model);
  if (session_header.size() > max_id_bytes)
    return invalid_field("X-Session-ID",
                         "must be at most " + std::to_string(max_id_bytes) + " bytes");
  // X-Session-ID names one of our sessions (the id we answered with);
  // `user` is the client's own name for one, found or created per user.
  if (!session_header.empty())
    out.in.session_id = std::string{session_header};
  else
    out.in.session_key = user.value_or("");
  return out;
}

std::string completion_id(std::string_view turn_id) {
  return "chatcmpl-" + std::string{turn_id};
}

nlohmann::json openai_tool_call_json(const troupe::v1::ToolCall& c, size_t index) {
  return {{"index", index},
          {"id", c.id()},
          {"type", "function"},
          {"function", {{"name", c.name()}, {"arguments", c.arguments_json()}}}};
}

nlohmann::json assistant_message_json(const troupe::v1::ChatMessage& m) {
  nlohmann::json out{{"role", "assistant"}, {"content", m.content()}, {"refusal", nullptr}};
  if (m.tool_calls_size() == 0)
    return out;
  auto& calls = out["tool_calls"] = nlohmann::json::array();
  for (const auto& c : m.tool_calls()) {
    auto call = openai_tool_call_json(c, calls.size());
    call.erase("index"); // only stream deltas carry an index
    calls.push_back(std::move(call));
  }
  if (m.content().empty())
    out["content"] = nullptr; // as OpenAI answers a message that only calls tools
  return out;
}

nlohmann::json completion_json(const troupe::v1::TurnResult& r, int64_t created) {
  return {{"id", completion_id(r.turn_id())},
          {"object", "chat.completion"},
          {"created", created},
          {"model", r.model()},
          {"choices",
           {{{"index", 0},
             {"message", assistant_message_json(r.reply())},
             {"finish_reason", finish_reason_of(r)},
             {"logprobs", nullptr}}}},
          {"usage", usage_json(r.usage())}};
}

nlohmann::json model_json(const troupe::v1::ModelInfo& m) {
  return {{"id", m.id()},
          {"object", "model"},
          {"created", m.created_unix()},
          {"owned_by", m.owned_by().empty() ? m.provider() : m.owned_by()}};
}

} // namespace troupe::gateway::http
