#include "actors/inference/dev_model.hpp"

#include <cstdint>
#include <cstdio>
#include <vector>

#include "actors/inference/errc.hpp"

namespace troupe::inference {

namespace {

using troupe::v1::ChatMessage;

constexpr std::string_view tool_command = "/tool ";
constexpr std::string_view provider_name = "troupe";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// Word-sized pieces of `text` that join back to it exactly: each word with
/// the whitespace that follows it.
std::vector<std::string_view> pieces(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i)
    if (is_space(text[i]) && (i + 1 == text.size() || !is_space(text[i + 1]))) {
      out.push_back(text.substr(start, i + 1 - start));
      start = i + 1;
    }
  if (start < text.size())
    out.push_back(text.substr(start));
  return out;
}

uint32_t word_count(std::string_view text) {
  uint32_t n = 0;
  for (size_t i = 0; i < text.size(); ++i)
    n += !is_space(text[i]) && (i == 0 || is_space(text[i - 1]));
  return n;
}

/// FNV-1a over the conversation: a stable id, not a security measure.
std::string call_id(const troupe::v1::GenerateRequest& req) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s)
      h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL; // a separator, so "ab","c" differs from "a","bc"
  };
  for (const auto& m : req.messages()) {
    mix(m.role());
    mix(m.content());
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return "call_" + std::string{buf};
}

/// The name of the tool whose result `result` is: its own name, or that of
/// the call it answers.
std::string tool_name(const troupe::v1::GenerateRequest& req, const ChatMessage& result) {
  if (!result.name().empty())
    return result.name();
  for (const auto& m : req.messages())
    for (const auto& call : m.tool_calls())
      if (call.id() == result.tool_call_id())
        return call.name();
  return "a tool";
}

std::string heard(const troupe::v1::GenerateRequest& req) {
  const ChatMessage* last_user = nullptr;
  int turn = 0;
  for (const auto& m : req.messages())
    if (m.role() == "user") {
      last_user = &m;
      ++turn;
    }
  if (last_user == nullptr)
    return "troupe-dev heard nothing yet (turn 0)";
  return "troupe-dev heard: " + last_user->content() + " (turn " + std::to_string(turn) + ")";
}

/// The call "/tool NAME {json args}" asks for, or false when `text` is none.
bool parse_tool_command(std::string_view text, troupe::v1::ToolCall& call) {
  if (text.substr(0, tool_command.size()) != tool_command)
    return false;
  text.remove_prefix(tool_command.size());
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  size_t end = 0;
  while (end < text.size() && !is_space(text[end]))
    ++end;
  if (end == 0)
    return false;
  call.set_name(std::string{text.substr(0, end)});
  auto args = text.substr(end);
  while (!args.empty() && is_space(args.front()))
    args.remove_prefix(1);
  call.set_arguments_json(args.empty() ? "{}" : std::string{args});
  return true;
}

} // namespace

caf::expected<troupe::v1::GenerateResult>
dev_model::generate(const troupe::v1::GenerateRequest& req, const std::string&,
                    const delta_fn& on_delta, const std::atomic<bool>* cancel) {
  if (req.messages().empty())
    return make_error(errc::invalid_request, "the request has no messages");
  troupe::v1::GenerateResult result;
  result.set_model(std::string{model_id});
  result.set_provider(std::string{provider_name});
  auto* msg = result.mutable_message();
  msg->set_role("assistant");
  const auto& last = *req.messages().rbegin();
  uint32_t prompt = 0;
  for (const auto& m : req.messages())
    prompt += word_count(m.content());
  uint32_t completion = 0;
  troupe::v1::ToolCall call;
  if (last.role() == "user" && parse_tool_command(last.content(), call)) {
    call.set_id(call_id(req));
    completion = word_count(call.name()) + word_count(call.arguments_json());
    *msg->add_tool_calls() = std::move(call);
    result.set_finish_reason("tool_calls");
  } else {
    msg->set_content(last.role() == "tool" ? "troupe-dev got from " + tool_name(req, last) + ": \""
                                                 + last.content() + "\""
                                           : heard(req));
    for (auto piece : pieces(msg->content())) {
      if (cancel != nullptr && cancel->load())
        return make_error(errc::cancelled, "the caller cancelled the request");
      if (on_delta)
        on_delta(piece);
    }
    completion = word_count(msg->content());
    result.set_finish_reason("stop");
  }
  auto* usage = result.mutable_usage();
  usage->set_prompt_tokens(prompt);
  usage->set_completion_tokens(completion);
  usage->set_total_tokens(prompt + completion);
  return result;
}

caf::expected<std::vector<troupe::v1::ModelInfo>> dev_model::list_models() {
  troupe::v1::ModelInfo info;
  info.set_id(std::string{model_id});
  info.set_provider(std::string{provider_name});
  info.set_owned_by(std::string{provider_name});
  return std::vector<troupe::v1::ModelInfo>{std::move(info)};
}

} // namespace troupe::inference
