#pragma once
// Helpers for driving turn_machine and turn_queue in unit tests: a
// deterministic context, requests, model answers, and readers of effects.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "actors/session/turn_queue.hpp"

namespace troupe::session::test {

using Type = troupe::v1::TurnEvent;
using namespace std::chrono_literals;

inline turn_context counting_context() {
  auto n = std::make_shared<int>(0);
  return {[n] { return "m" + std::to_string(++*n); }, [] { return int64_t{1'700'000'000'000}; }};
}

inline const turn_clock::time_point t0{std::chrono::seconds{1000}};

inline turn_start start_of(std::string turn, std::string text = "hello", bool stream = true,
                           turn_clock::time_point deadline = t0 + 60s) {
  turn_start s;
  s.session = session_id{"s1"};
  s.turn = turn_id{std::move(turn)};
  s.request.set_message(std::move(text));
  s.request.set_stream(stream);
  s.deadline = deadline;
  return s;
}

inline troupe::v1::GenerateResult answer_text(std::string text, uint32_t tokens = 3) {
  troupe::v1::GenerateResult r;
  r.mutable_message()->set_role("assistant");
  r.mutable_message()->set_content(std::move(text));
  r.set_model("m-1");
  r.set_finish_reason("stop");
  r.mutable_usage()->set_prompt_tokens(tokens);
  r.mutable_usage()->set_completion_tokens(tokens);
  r.mutable_usage()->set_total_tokens(2 * tokens);
  return r;
}

inline troupe::v1::GenerateResult answer_tools(std::vector<std::string> ids) {
  troupe::v1::GenerateResult r;
  r.mutable_message()->set_role("assistant");
  for (auto& id : ids) {
    auto* c = r.mutable_message()->add_tool_calls();
    c->set_id(id);
    c->set_name("tool_" + id);
    c->set_arguments_json("{}");
  }
  r.set_model("m-1");
  r.set_finish_reason("tool_calls");
  return r;
}

inline troupe::v1::ToolResult tool_result(std::string id, std::string content) {
  troupe::v1::ToolResult r;
  r.set_tool_call_id(std::move(id));
  r.set_content(std::move(content));
  return r;
}

inline troupe::v1::Error error(std::string component, std::string code) {
  troupe::v1::Error e;
  e.set_component(std::move(component));
  e.set_code(std::move(code));
  e.set_message("it broke");
  return e;
}

/// The effects of type T, in order.
template <class T>
std::vector<T> all(const effects& fx) {
  std::vector<T> out;
  for (const auto& e : fx)
    if (const auto* t = std::get_if<T>(&e))
      out.push_back(*t);
  return out;
}

template <class T>
bool has(const effects& fx) {
  return !all<T>(fx).empty();
}

template <class T>
T only(const effects& fx) {
  auto found = all<T>(fx);
  REQUIRE(found.size() == 1);
  return found.front();
}

/// The event types, in order.
inline std::vector<Type::Type> events(const effects& fx) {
  std::vector<Type::Type> out;
  for (const auto& e : all<fx::event>(fx))
    out.push_back(e.type);
  return out;
}

inline std::string failure_code(const effects& fx) {
  return only<fx::fail>(fx).error.code();
}

/// The effects of a queue's output that belong to `turn`.
inline effects of(const turn_queue::out& out, const std::string& turn) {
  effects fx;
  for (const auto& t : out)
    if (t.turn.str() == turn)
      fx.push_back(t.what);
  return fx;
}

} // namespace troupe::session::test
