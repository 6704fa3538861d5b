#include "actors/inference/openai_wire.hpp"

#include <nlohmann/json.hpp>

#include "actors/inference/errc.hpp"

namespace troupe::inference::openai {

using nlohmann::json;

namespace {

constexpr size_t excerpt_chars = 200;

/// Protobuf strings may hold bytes that are not UTF-8; the provider gets
/// U+FFFD for them rather than a request we cannot encode.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// A string member; absent and null read as empty, any other type throws.
std::string text(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? std::string{} : it->get<std::string>();
}

const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

json tool_call_json(const troupe::v1::ToolCall& call) {
  return {{"id", call.id()},
          {"type", "function"},
          {"function", {{"name", call.name()}, {"arguments", call.arguments_json()}}}};
}

caf::expected<json> message_json(const troupe::v1::ChatMessage& m, int index) {
  const auto& role = m.role();
  if (role != "system" && role != "user" && role != "assistant" && role != "tool")
    return make_error(errc::invalid_request,
                      "message " + std::to_string(index) + " has unknown role '" + role + "'");
  json out{{"role", role}, {"content", m.content()}};
  if (role == "assistant" && m.tool_calls_size() > 0) {
    if (m.content().empty())
      out["content"] = nullptr; // what the API sends for a call without text
    auto& calls = out["tool_calls"] = json::array();
    for (const auto& call : m.tool_calls())
      calls.push_back(tool_call_json(call));
  }
  if (role == "tool")
    out["tool_call_id"] = m.tool_call_id();
  return out;
}

caf::expected<json> tool_json(const troupe::v1::ToolSpec& spec) {
  if (spec.name().empty())
    return make_error(errc::invalid_request, "a tool has no name");
  json params = spec.parameters_json().empty()
                    ? json{{"type", "object"}, {"properties", json::object()}}
                    : json::parse(spec.parameters_json(), nullptr, false);
  if (params.is_discarded() || !params.is_object())
    return make_error(errc::invalid_request,
                      "tool '" + spec.name() + "': parameters_json is not a JSON object");
  return json{{"type", "function"},
              {"function",
               {{"name", spec.name()},
                {"description", spec.description()},
                {"parameters", std::move(params)}}}};
}

void read_usage(const json& chunk, troupe::v1::Usage& usage) {
  auto* u = member(chunk, "usage");
  if (u == nullptr)
    return;
  usage.set_prompt_tokens(u->value("prompt_tokens", 0u));
  usage.set_completion_tokens(u->value("completion_tokens", 0u));
  usage.set_total_tokens(u->value("total_tokens", 0u));
}

/// Tool-call arguments are a JSON string in the API; a provider that sends
/// an object instead still means those arguments.
std::string arguments_text(const json& function) {
  auto* args = member(function, "arguments");
  if (args == nullptr)
    return {};
  return args->is_string() ? args->get<std::string>() : dump(*args);
}

caf::error malformed(const std::string& what, const std::exception& e) {
  return make_error(errc::malformed_response, what + ": " + e.what());
}

/// Keeps printable ASCII only: the excerpt goes into errors and logs, which
/// must stay valid UTF-8 whatever the provider sent.
std::string printable_excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, excerpt_chars))
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (body.size() > excerpt_chars)
    out += "...";
  return out;
}

} // namespace

caf::expected<std::string> request_body(const troupe::v1::GenerateRequest& req,
                                        const std::string& model, bool stream) {
  if (req.messages().empty())
    return make_error(errc::invalid_request, "the request has no messages");
  // The body is written member by member, every value serialized by the
  // library, rather than built as one json tree and dumped: a 200-message
  // conversation as a tree is thousands of small allocations on the way to
  // the provider (291 us p50 of the request's path there, measured).
  std::string out;
  out.reserve(256 + static_cast<size_t>(req.ByteSizeLong()) * 5 / 4);
  out += "{\"model\":";
  out += dump(json(model));
  out += ",\"messages\":[";
  int index = 0;
  for (const auto& m : req.messages()) {
    if (index > 0)
      out += ',';
    const auto& role = m.role();
    if ((role == "system" || role == "user" || role == "assistant") && m.tool_calls_size() == 0) {
      // Roles are fixed words: nothing to escape.
      out += "{\"role\":\"";
      out += role;
      out += "\",\"content\":";
      out += dump(json(m.content()));
      out += '}';
      ++index;
      continue;
    }
    auto j = message_json(m, index++);
    if (!j)
      return j.error();
    out += dump(*j);
  }
  out += ']';
  if (req.tools_size() > 0) {
    out += ",\"tools\":[";
    bool first = true;
    for (const auto& spec : req.tools()) {
      auto j = tool_json(spec);
      if (!j)
        return j.error();
      if (!first)
        out += ',';
      first = false;
      out += dump(*j);
    }
    out += ']';
  }
  if (req.temperature() >= 0) {
    out += ",\"temperature\":";
    out += dump(json(req.temperature()));
  }
  if (req.max_tokens() > 0) {
    out += ",\"max_tokens\":";
    out += std::to_string(req.max_tokens());
  }
  if (stream)
    out += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
  out += '}';
  return out;
}

caf::expected<troupe::v1::GenerateResult> parse_completion(std::string_view body) {
  auto answer = json::parse(body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object())
    return make_error(errc::malformed_response,
                      "the answer is not a JSON object: " + printable_excerpt(body));
  try {
    const auto& choices = answer.at("choices");
    if (!choices.is_array() || choices.empty())
      return make_error(errc::malformed_response, "the answer has no choices");
    const auto& choice = choices.front();
    troupe::v1::GenerateResult result;
    const auto& m = choice.at("message");
    auto* msg = result.mutable_message();
    msg->set_role("assistant");
    msg->set_content(text(m, "content"));
    if (auto* calls = member(m, "tool_calls")) {
      for (const auto& c : *calls) {
        auto* call = msg->add_tool_calls();
        call->set_id(text(c, "id"));
        const auto& fn = c.at("function");
        call->set_name(text(fn, "name"));
        call->set_arguments_json(arguments_text(fn));
      }
    }
    result.set_finish_reason(text(choice, "finish_reason"));
    result.set_model(text(answer, "model"));
    read_usage(answer, *result.mutable_usage());
    return result;
  } catch (const json::exception& e) {
    return malformed("the answer does not have the shape of a chat completion", e);
  }
}

caf::expected<std::vector<troupe::v1::ModelInfo>> parse_model_list(std::string_view body,
                                                                   const std::string& provider) {
  auto list = json::parse(body, nullptr, false);
  if (list.is_discarded() || !list.is_object())
    return make_error(errc::malformed_response,
                      "the model list is not a JSON object: " + printable_excerpt(body));
  try {
    std::vector<troupe::v1::ModelInfo> out;
    for (const auto& entry : list.at("data")) {
      auto& info = out.emplace_back();
      info.set_id(entry.at("id").get<std::string>());
      info.set_provider(provider);
      info.set_owned_by(text(entry, "owned_by"));
      info.set_created_unix(entry.value("created", int64_t{0}));
    }
    return out;
  } catch (const json::exception& e) {
    return malformed("the model list does not have the shape of one", e);
  }
}

std::string error_message(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  const json* err = j.is_object() ? member(j, "error") : nullptr;
  if (err != nullptr && err->is_string())
    return err->get<std::string>();
  if (err == nullptr || !err->is_object() || !err->contains("message"))
    return body.empty() ? "(empty body)" : printable_excerpt(body);
  auto describe = [](const json& v) { return v.is_string() ? v.get<std::string>() : dump(v); };
  auto out = describe(err->at("message"));
  for (const char* key : {"type", "code"})
    if (auto* v = member(*err, key))
      out += std::string{" ["} + key + "=" + describe(*v) + "]";
  return out;
}

caf::error stream_assembler::add(std::string_view data, const delta_fn& on_delta) {
  if (done_)
    return {};
  if (data == "[DONE]") {
    done_ = true;
    return {};
  }
  auto chunk = json::parse(data, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object())
    return make_error(errc::malformed_response,
                      "a stream event is not a JSON object: " + printable_excerpt(data));
  if (member(chunk, "error") != nullptr)
    return make_error(errc::provider_error,
                      "the provider failed mid-stream: " + error_message(data));
  try {
    if (result_.model().empty())
      result_.set_model(text(chunk, "model"));
    read_usage(chunk, *result_.mutable_usage());
    auto* choices = member(chunk, "choices");
    if (choices == nullptr || choices->empty())
      return {}; // e.g. the usage-only chunk at the end
    const auto& choice = choices->front();
    if (auto reason = text(choice, "finish_reason"); !reason.empty())
      result_.set_finish_reason(std::move(reason));
    auto* delta = member(choice, "delta");
    if (delta == nullptr)
      return {};
    if (auto content = text(*delta, "content"); !content.empty()) {
      result_.mutable_message()->mutable_content()->append(content);
      if (on_delta)
        on_delta(content);
    }
    if (auto* calls = member(*delta, "tool_calls")) {
      for (const auto& c : *calls) {
        auto& call = calls_[c.at("index").get<uint64_t>()];
        call.mutable_id()->append(text(c, "id"));
        if (auto* fn = member(c, "function")) {
          call.mutable_name()->append(text(*fn, "name"));
          call.mutable_arguments_json()->append(arguments_text(*fn));
        }
      }
    }
    return {};
  } catch (const json::exception& e) {
    return malformed("a stream event does not have the shape of a chunk", e);
  }
}

troupe::v1::GenerateResult stream_assembler::take() {
  auto* msg = result_.mutable_message();
  msg->set_role("assistant");
  for (auto& [index, call] : calls_) {
    // Some local providers stream calls without ids; the tool result must
    // still name the call it answers.
    if (call.id().empty())
      call.set_id("call_" + std::to_string(index));
    *msg->add_tool_calls() = std::move(call);
  }
  calls_.clear();
  return std::move(result_);
}

} // namespace troupe::inference::openai
