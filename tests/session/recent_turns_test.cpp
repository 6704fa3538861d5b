#include <catch2/catch.hpp>

#include "actors/session/recent_turns.hpp"

using namespace troupe;
using session::recent_turns;

namespace {

troupe::v1::ChatMessage msg(const std::string& id, const std::string& role,
                            const std::string& content, const std::string& turn) {
  troupe::v1::ChatMessage m;
  m.set_id(id);
  m.set_role(role);
  m.set_content(content);
  m.set_turn_id(turn);
  return m;
}

troupe::v1::TurnResult result(const std::string& turn, const std::string& question) {
  troupe::v1::TurnResult r;
  r.set_session_id("s");
  r.set_turn_id(turn);
  *r.add_messages() = msg(turn + "-u", "user", question, turn);
  *r.add_messages() = msg(turn + "-a", "assistant", "answer to " + question, turn);
  *r.mutable_reply() = r.messages(1);
  r.set_model("m-1");
  r.mutable_usage()->set_total_tokens(7);
  return r;
}

} // namespace

TEST_CASE("recent turns: a loaded history gives back each whole turn's answer", "[session][unit]") {
  recent_turns recent{8};
  auto call = msg("a1", "assistant", "", "t1");
  call.add_tool_calls()->set_name("lookup");
  recent.load({msg("x", "assistant", "tail of a cut turn", "t0"), // its question fell out
               msg("u1", "user", "find it", "t1"), call, msg("tool1", "tool", "42", "t1"),
               msg("a1b", "assistant", "it is 42", "t1"), msg("u2", "user", "thanks", "t2"),
               msg("a2", "assistant", "you are welcome", "t2")},
              session_id{"s"}, "m-1");
  CHECK(recent.size() == 2);
  CHECK_FALSE(recent.find(turn_id{"t0"}));

  auto t1 = recent.find(turn_id{"t1"});
  REQUIRE(t1);
  CHECK(t1->replayed());
  CHECK(t1->session_id() == "s");
  CHECK(t1->model() == "m-1");
  CHECK(t1->messages_size() == 4);
  CHECK(t1->reply().id() == "a1b");
  CHECK(t1->finish_reason() == "stop");
  CHECK(recent.question(turn_id{"t1"}) == "find it");

  auto t2 = recent.find(turn_id{"t2"});
  REQUIRE(t2);
  CHECK(t2->reply().content() == "you are welcome");
}

TEST_CASE("recent turns: a turn that ended calling a tool says so", "[session][unit]") {
  recent_turns recent{8};
  auto call = msg("a1", "assistant", "", "t1");
  call.add_tool_calls()->set_name("lookup");
  recent.load({msg("u1", "user", "q", "t1"), call}, session_id{"s"}, "m");
  auto t1 = recent.find(turn_id{"t1"});
  REQUIRE(t1);
  CHECK(t1->finish_reason() == "tool_calls");
}

TEST_CASE("recent turns: committed answers are kept whole, and the oldest are forgotten",
          "[session][unit]") {
  recent_turns recent{2};
  recent.add(result("t1", "one"));
  recent.add(result("t2", "two"));
  auto t1 = recent.find(turn_id{"t1"});
  REQUIRE(t1);
  CHECK(t1->usage().total_tokens() == 7); // as answered, not rebuilt
  CHECK(recent.question(turn_id{"t2"}) == "two");

  recent.add(result("t3", "three"));
  CHECK(recent.size() == 2);
  CHECK_FALSE(recent.find(turn_id{"t1"}));
  CHECK(recent.question(turn_id{"t1"}).empty());
  CHECK(recent.find(turn_id{"t3"}));

  recent.add(result("t3", "three")); // the same turn again does not push another out
  CHECK(recent.find(turn_id{"t2"}));
}

TEST_CASE("recent turns: a limit of zero remembers nothing", "[session][unit]") {
  recent_turns recent{0};
  recent.add(result("t1", "one"));
  recent.load({msg("u", "user", "q", "t2"), msg("a", "assistant", "r", "t2")}, session_id{"s"}, "m");
  CHECK(recent.size() == 0);
  CHECK_FALSE(recent.find(turn_id{"t1"}));
}
