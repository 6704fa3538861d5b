// The turn machine driven directly: no actor system, no bus, no store.
#include "tests/session/turn_test_support.hpp"

using namespace troupe;
using namespace troupe::session;
using namespace troupe::session::test;

namespace {

/// A turn through to its answer, with the pipeline's stages answered as given.
struct driver {
  turn_machine m;
  explicit driver(pipeline p = {}, turn_start s = start_of("t1"))
    : m(p, counting_context(), std::move(s)) {}

  /// Commits, acknowledges the events of both awaits and returns the answer's effects.
  effects finish_after_model() {
    auto c = only<fx::await_events>(pending_);
    auto fx = m.committed(std::nullopt);
    CHECK(fx.empty());
    fx = m.events_acked(c.through_seq, std::nullopt);
    auto sealed = only<fx::await_events>(fx);
    CHECK(events(fx) == std::vector{Type::TURN_PERSISTED, Type::TURN_COMPLETED});
    return m.events_acked(sealed.through_seq, std::nullopt);
  }
  effects pending_;
};

} // namespace

TEST_CASE("a turn without optional stages calls the model, commits, then answers",
          "[session][turn]") {
  driver d;
  auto fx = d.m.start(t0);
  CHECK(events(fx) == std::vector{Type::TURN_STARTED, Type::MODEL_INVOKED});
  auto call = only<fx::call_model>(fx);
  CHECK(call.step == 0);
  REQUIRE(call.after.size() == 1);
  CHECK(call.after[0].role() == "user");
  CHECK(call.after[0].content() == "hello");
  CHECK(call.after[0].turn_id() == "t1");

  fx = d.m.model_delta("hel");
  CHECK(only<fx::chunk>(fx).chunk.delta() == "hel");
  fx = d.m.model_delta("lo");
  CHECK(only<fx::chunk>(fx).chunk.seq() == 1);

  fx = d.m.model_answered(answer_text("hello back"));
  CHECK(events(fx) == std::vector{Type::MODEL_RESPONSE});
  auto commit = only<fx::commit>(fx);
  REQUIRE(commit.messages.size() == 2);
  CHECK(commit.messages[0].content() == "hello");
  CHECK(commit.messages[1].role() == "assistant");
  CHECK(commit.messages[1].content() == "hello back");
  CHECK(commit.model == "m-1");
  // The events so far are awaited while the commit runs.
  CHECK(only<fx::await_events>(fx).through_seq == 2);
  CHECK_FALSE(has<fx::answer>(fx));
  d.pending_ = fx;

  auto done = d.finish_after_model();
  auto result = only<fx::answer>(done).result;
  CHECK(result.session_id() == "s1");
  CHECK(result.turn_id() == "t1");
  CHECK(result.reply().content() == "hello back");
  CHECK(result.messages_size() == 2);
  CHECK(result.usage().total_tokens() == 6);
  CHECK(result.finish_reason() == "stop");
  CHECK(d.m.state() == turn_machine::phase::answered);
}

TEST_CASE("the answer waits for the commit when the events are acknowledged first",
          "[session][turn]") {
  driver d;
  (void)d.m.start(t0);
  auto fx = d.m.model_answered(answer_text("x"));
  auto first = only<fx::await_events>(fx);
  CHECK(d.m.events_acked(first.through_seq, std::nullopt).empty());
  fx = d.m.committed(std::nullopt);
  CHECK(events(fx) == std::vector{Type::TURN_PERSISTED, Type::TURN_COMPLETED});
  auto sealed = only<fx::await_events>(fx);
  CHECK_FALSE(has<fx::answer>(fx));
  CHECK(has<fx::answer>(d.m.events_acked(sealed.through_seq, std::nullopt)));
}

TEST_CASE("event sequence numbers run from 0 without gaps", "[session][turn]") {
  driver d;
  std::vector<uint32_t> seqs;
  auto collect = [&](const effects& fx) {
    for (const auto& e : all<fx::event>(fx))
      seqs.push_back(e.seq);
  };
  collect(d.m.start(t0));
  auto fx = d.m.model_answered(answer_text("x"));
  collect(fx);
  collect(d.m.committed(std::nullopt));
  fx = d.m.events_acked(only<fx::await_events>(fx).through_seq, std::nullopt);
  collect(fx);
  CHECK(seqs == std::vector<uint32_t>{0, 1, 2, 3, 4});
  CHECK(only<fx::await_events>(fx).through_seq == 4);
}

TEST_CASE("every stage runs in pipeline order", "[session][turn]") {
  pipeline p;
  p.guardrail_input = p.memory_prefetch = p.tools = p.guardrail_output = true;
  driver d{p};
  auto fx = d.m.start(t0);
  CHECK(only<fx::check_input>(fx).text == "hello");
  CHECK_FALSE(has<fx::call_model>(fx));

  fx = d.m.input_checked({true, {}, std::string{"hello [redacted]"}});
  CHECK(events(fx) == std::vector{Type::GUARDRAIL_INPUT});
  CHECK(only<fx::prefetch_memory>(fx).query == "hello [redacted]");

  troupe::v1::ChatMessage remembered;
  remembered.set_role("system");
  remembered.set_content("the user likes tea");
  fx = d.m.memory_loaded({remembered});
  CHECK(events(fx) == std::vector{Type::MEMORY_PREFETCH, Type::MODEL_INVOKED});
  auto call = only<fx::call_model>(fx);
  REQUIRE(call.before.size() == 1);
  CHECK(call.before[0].content() == "the user likes tea");
  CHECK(call.after[0].content() == "hello [redacted]");

  fx = d.m.model_answered(answer_text("raw answer"));
  CHECK(only<fx::check_output>(fx).text == "raw answer");
  CHECK_FALSE(has<fx::commit>(fx));

  fx = d.m.output_checked({true, {}, std::string{"clean answer"}});
  CHECK(events(fx) == std::vector{Type::GUARDRAIL_OUTPUT});
  auto commit = only<fx::commit>(fx);
  // What is stored is what the guardrails let through; memory is context only.
  REQUIRE(commit.messages.size() == 2);
  CHECK(commit.messages[0].content() == "hello [redacted]");
  CHECK(commit.messages[1].content() == "clean answer");
}

TEST_CASE("tool calls loop back to the model with their results in call order",
          "[session][turn]") {
  pipeline p;
  p.tools = true;
  driver d{p};
  (void)d.m.start(t0);
  auto fx = d.m.model_answered(answer_tools({"a", "b"}));
  CHECK(events(fx)
        == std::vector{Type::MODEL_RESPONSE, Type::TOOL_CALLED, Type::TOOL_CALLED});
  auto calls = all<fx::call_tool>(fx);
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].call.id() == "a");
  CHECK(calls[1].call.id() == "b");
  CHECK(all<fx::chunk>(fx).size() == 2); // the client sees the calls

  fx = d.m.tool_returned(tool_result("b", "B!"));
  CHECK(events(fx) == std::vector{Type::TOOL_RETURNED});
  CHECK_FALSE(has<fx::call_model>(fx));
  CHECK(d.m.tool_returned(tool_result("b", "again")).empty()); // duplicates are ignored
  CHECK(d.m.tool_returned(tool_result("zzz", "?")).empty());   // so are strangers

  fx = d.m.tool_returned(tool_result("a", "A!"));
  auto next = only<fx::call_model>(fx);
  CHECK(next.step == 1);
  REQUIRE(next.after.size() == 4);
  CHECK(next.after[1].tool_calls_size() == 2);
  CHECK(next.after[2].role() == "tool");
  CHECK(next.after[2].tool_call_id() == "a");
  CHECK(next.after[2].content() == "A!");
  CHECK(next.after[2].name() == "tool_a");
  CHECK(next.after[3].tool_call_id() == "b");

  fx = d.m.model_answered(answer_text("done with tools"));
  auto commit = only<fx::commit>(fx);
  REQUIRE(commit.messages.size() == 5);
  CHECK(commit.messages[4].content() == "done with tools");
  d.pending_ = fx;
  auto result = only<fx::answer>(d.finish_after_model()).result;
  CHECK(result.messages_size() == 5);
}

TEST_CASE("the tool loop stops at the step limit", "[session][turn]") {
  pipeline p;
  p.tools = true;
  p.max_model_calls = 2;
  driver d{p};
  (void)d.m.start(t0);
  (void)d.m.model_answered(answer_tools({"a"}));
  auto fx = d.m.tool_returned(tool_result("a", "1"));
  REQUIRE(has<fx::call_model>(fx));
  fx = d.m.model_answered(answer_tools({"b"}));
  CHECK(failure_code(fx) == "step_limit_reached");
  CHECK(events(fx) == std::vector{Type::MODEL_RESPONSE, Type::TURN_FAILED});
  CHECK_FALSE(has<fx::call_tool>(fx));
  CHECK_FALSE(has<fx::commit>(fx));
  CHECK_FALSE(has<fx::stop>(fx)); // nothing is in flight any more
}

TEST_CASE("without a tool stage, a model's tool calls end the turn as it gave them",
          "[session][turn]") {
  driver d;
  (void)d.m.start(t0);
  auto fx = d.m.model_answered(answer_tools({"a"}));
  CHECK_FALSE(has<fx::call_tool>(fx));
  CHECK(only<fx::chunk>(fx).chunk.tool_call().id() == "a");
  auto commit = only<fx::commit>(fx);
  CHECK(commit.messages[1].tool_calls_size() == 1);
  d.pending_ = fx;
  CHECK(only<fx::answer>(d.finish_after_model()).result.finish_reason() == "tool_calls");
}

TEST_CASE("a guardrail that blocks ends the turn without a commit", "[session][turn]") {
  pipeline p;
  p.guardrail_input = true;
  SECTION("on the input") {
    driver d{p};
    (void)d.m.start(t0);
    auto fx = d.m.input_checked({false, "no", std::nullopt});
    CHECK(failure_code(fx) == "guardrail_blocked");
    CHECK(events(fx) == std::vector{Type::GUARDRAIL_INPUT, Type::TURN_FAILED});
    CHECK_FALSE(has<fx::call_model>(fx));
  }
  SECTION("on the output") {
    p.guardrail_input = false;
    p.guardrail_output = true;
    driver d{p};
    (void)d.m.start(t0);
    (void)d.m.model_answered(answer_text("bad"));
    auto fx = d.m.output_checked({false, "leaks a secret", std::nullopt});
    CHECK(failure_code(fx) == "guardrail_blocked");
    CHECK_FALSE(has<fx::commit>(fx));
  }
}

TEST_CASE("a failing stage fails the turn with its own error", "[session][turn]") {
  pipeline p;
  p.guardrail_input = p.memory_prefetch = p.tools = p.guardrail_output = true;
  driver d{p};
  auto fx = d.m.start(t0);
  stage failing = GENERATE(stage::guardrail_input, stage::memory_prefetch, stage::model,
                           stage::tool, stage::guardrail_output);
  // Walk up to the failing stage.
  if (failing != stage::guardrail_input)
    fx = d.m.input_checked({});
  if (failing != stage::guardrail_input && failing != stage::memory_prefetch)
    fx = d.m.memory_loaded({});
  if (failing == stage::tool || failing == stage::guardrail_output)
    fx = d.m.model_answered(failing == stage::tool ? answer_tools({"a"}) : answer_text("x"));
  // Another stage's failure is not this turn's concern now.
  auto other = failing == stage::model ? stage::tool : stage::model;
  CHECK(d.m.stage_failed(other, error("x", "y")).empty());

  fx = d.m.stage_failed(failing, error("inference", "backend_unavailable"));
  auto failed = only<fx::fail>(fx);
  CHECK(failed.error.component() == "inference");
  CHECK(failed.error.code() == "backend_unavailable");
  CHECK(events(fx).back() == Type::TURN_FAILED);
  CHECK(all<fx::event>(fx).back().error_code == "backend_unavailable");
  // Only tool calls still running need stopping; a failed model call is over.
  CHECK(has<fx::stop>(fx) == (failing == stage::tool));
  CHECK(d.m.finished());
}

TEST_CASE("a commit that fails ends the turn with persist_failed", "[session][turn]") {
  driver d;
  (void)d.m.start(t0);
  auto fx = d.m.model_answered(answer_text("x"));
  (void)d.m.events_acked(only<fx::await_events>(fx).through_seq, std::nullopt);
  fx = d.m.committed(error("storage", "unreachable"));
  CHECK(failure_code(fx) == "persist_failed");
  CHECK(events(fx) == std::vector{Type::TURN_FAILED});
  CHECK_FALSE(has<fx::answer>(fx));
}

TEST_CASE("events that are not acknowledged fail the turn with events_unavailable",
          "[session][turn]") {
  driver d;
  (void)d.m.start(t0);
  auto fx = d.m.model_answered(answer_text("x"));
  auto first = only<fx::await_events>(fx);
  SECTION("before the commit ends") {
    fx = d.m.events_acked(first.through_seq, error("bus", "timeout"));
    CHECK(failure_code(fx) == "events_unavailable");
    CHECK(d.m.committed(std::nullopt).empty());
  }
  SECTION("after it, for the turn's last events") {
    (void)d.m.events_acked(first.through_seq, std::nullopt);
    fx = d.m.committed(std::nullopt);
    auto sealed = only<fx::await_events>(fx);
    CHECK(d.m.events_acked(first.through_seq, error("bus", "timeout")).empty()); // stale
    fx = d.m.events_acked(sealed.through_seq, error("bus", "jetstream_error"));
    CHECK(failure_code(fx) == "events_unavailable");
    CHECK_FALSE(has<fx::answer>(fx));
  }
}

TEST_CASE("a deadline that passes mid-stage fails the turn", "[session][turn]") {
  driver d{pipeline{}, start_of("t1", "hello", true, t0 + 5s)};
  (void)d.m.start(t0);
  CHECK(d.m.tick(t0 + 4s).empty());
  auto fx = d.m.tick(t0 + 5s);
  CHECK(failure_code(fx) == "deadline_expired");
  CHECK(has<fx::stop>(fx)); // the model call is abandoned
  CHECK(d.m.model_answered(answer_text("late")).empty());
  CHECK(d.m.tick(t0 + 10s).empty());
}

TEST_CASE("a deadline while only the events are awaited is events_unavailable",
          "[session][turn]") {
  driver d{pipeline{}, start_of("t1", "hello", true, t0 + 5s)};
  (void)d.m.start(t0);
  (void)d.m.model_answered(answer_text("x"));
  (void)d.m.committed(std::nullopt);
  CHECK(failure_code(d.m.tick(t0 + 6s)) == "events_unavailable");
}

TEST_CASE("a turn that starts after its deadline fails at once", "[session][turn]") {
  driver d{pipeline{}, start_of("t1", "hello", true, t0)};
  auto fx = d.m.start(t0);
  CHECK(events(fx) == std::vector{Type::TURN_STARTED, Type::TURN_FAILED});
  CHECK(failure_code(fx) == "deadline_expired");
  CHECK_FALSE(has<fx::call_model>(fx));
}

TEST_CASE("cancel stops a running turn but not one whose commit is under way",
          "[session][turn]") {
  SECTION("running") {
    driver d;
    (void)d.m.start(t0);
    auto fx = d.m.cancel();
    CHECK(failure_code(fx) == "cancelled");
    CHECK(has<fx::stop>(fx));
    CHECK(d.m.model_answered(answer_text("late")).empty());
    CHECK(d.m.cancel().empty());
  }
  SECTION("committing") {
    driver d;
    (void)d.m.start(t0);
    d.pending_ = d.m.model_answered(answer_text("x"));
    CHECK(d.m.cancel().empty());
    CHECK(has<fx::answer>(d.finish_after_model()));
  }
}

TEST_CASE("abort ends a turn in any phase", "[session][turn]") {
  driver d;
  (void)d.m.start(t0);
  (void)d.m.model_answered(answer_text("x"));
  auto fx = d.m.abort(error("session", "session_not_found"));
  CHECK(failure_code(fx) == "session_not_found");
  CHECK(d.m.committed(std::nullopt).empty());
}

TEST_CASE("an answer too large for a reply fails before the commit", "[session][turn]") {
  pipeline p;
  p.max_result_bytes = 1000;
  driver d{p};
  (void)d.m.start(t0);
  auto fx = d.m.model_answered(answer_text(std::string(2000, 'x')));
  CHECK(failure_code(fx) == "result_too_large");
  CHECK_FALSE(has<fx::commit>(fx));
}

TEST_CASE("a turn that does not stream emits no chunks", "[session][turn]") {
  driver d{pipeline{}, start_of("t1", "hello", false)};
  (void)d.m.start(t0);
  CHECK(d.m.model_delta("x").empty());
  CHECK_FALSE(has<fx::chunk>(d.m.model_answered(answer_tools({"a"}))));
}

TEST_CASE("the turn's messages carry their turn, fresh ids and the user's system messages",
          "[session][turn]") {
  auto s = start_of("t9");
  auto* sys = s.request.add_extra_messages();
  sys->set_role("system");
  sys->set_content("be brief");
  s.history_messages = 40;
  driver d{pipeline{}, s};
  auto fx = d.m.start(t0);
  auto call = only<fx::call_model>(fx);
  REQUIRE(call.before.size() == 1);
  CHECK(call.before[0].content() == "be brief");
  // MODEL_INVOKED shows this turn's own messages and how much history went along.
  const auto& ev = all<fx::event>(fx)[1];
  const auto& invoked = static_cast<const troupe::v1::ModelInvoked&>(*ev.payload);
  CHECK(invoked.history_messages() == 40);
  CHECK(invoked.request().messages_size() == 2);
  fx = d.m.model_answered(answer_text("ok"));
  auto commit = only<fx::commit>(fx);
  CHECK(commit.messages[0].id() != commit.messages[1].id());
  for (const auto& m : commit.messages)
    CHECK(m.turn_id() == "t9");
}
