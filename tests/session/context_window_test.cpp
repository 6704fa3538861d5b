#include <catch2/catch.hpp>

#include "actors/session/context_window.hpp"

using troupe::session::context_window;
using troupe::v1::ChatMessage;
using troupe::v1::GenerateRequest;

namespace {

ChatMessage msg(const std::string& role, const std::string& content) {
  ChatMessage m;
  m.set_role(role);
  m.set_content(content);
  m.set_id("id-" + content);
  return m;
}

std::vector<std::string> contents(const GenerateRequest& req) {
  std::vector<std::string> out;
  for (const auto& m : req.messages())
    out.push_back(m.content());
  return out;
}

GenerateRequest decode(const std::string& bytes) {
  GenerateRequest req;
  REQUIRE(req.ParseFromString(bytes));
  return req;
}

} // namespace

TEST_CASE("the encoded request is the head, the messages before, the window, the messages after") {
  context_window w{10};
  w.append(msg("user", "one"));
  w.append(msg("assistant", "two"));
  GenerateRequest head;
  head.set_model("troupe-dev");
  head.set_turn_id("t1");
  head.set_temperature(-1);
  head.set_stream(true);
  auto req = decode(w.encode(head, {msg("system", "be brief")}, {msg("user", "three")}));
  CHECK(req.model() == "troupe-dev");
  CHECK(req.turn_id() == "t1");
  CHECK(req.temperature() == -1);
  CHECK(req.stream());
  CHECK(contents(req) == std::vector<std::string>{"be brief", "one", "two", "three"});
  CHECK(req.messages(1).role() == "user");
  CHECK(req.messages(2).id() == "id-two");
}

TEST_CASE("the window keeps the latest messages up to its limit") {
  context_window w{3};
  for (auto c : {"a", "b", "c", "d", "e"})
    w.append(msg("user", c));
  CHECK(w.size() == 3);
  auto req = decode(w.encode({}, {}, {}));
  CHECK(contents(req) == std::vector<std::string>{"c", "d", "e"});
}

TEST_CASE("a window of size zero sends no history") {
  context_window w{0};
  w.append(msg("user", "a"));
  CHECK(w.size() == 0);
  auto req = decode(w.encode({}, {}, {msg("user", "now")}));
  CHECK(contents(req) == std::vector<std::string>{"now"});
}

TEST_CASE("an encoding equals the one of the same request built message by message") {
  context_window w{5};
  GenerateRequest whole;
  whole.set_model("m");
  for (auto c : {"a", "b"}) {
    w.append(msg("user", c));
  }
  GenerateRequest head = whole;
  *whole.add_messages() = msg("user", "a");
  *whole.add_messages() = msg("user", "b");
  *whole.add_messages() = msg("user", "c");
  auto mine = decode(w.encode(head, {}, {msg("user", "c")}));
  CHECK(mine.SerializeAsString() == whole.SerializeAsString());
}
