// The session routes over real loopback HTTP: list, get, messages, delete.
#include <catch2/catch.hpp>

#include "tests/gateway/http/fixture.hpp"

using namespace troupe;
using namespace troupe::test;
using json = nlohmann::json;

namespace {

void add_session(test_backend& b, const std::string& id) {
  auto* s = b.sessions.add_sessions();
  s->set_id(id);
  s->set_tenant("acme");
  s->set_user("alice");
  s->set_title("About " + id);
  s->set_model("test-model");
  s->set_message_count(4);
  s->set_created_unix_ms(1000);
  s->set_updated_unix_ms(2000);
}

} // namespace

TEST_CASE("sessions lists the principal's sessions with paging", "[gateway_http][unit]") {
  gateway_fixture f;
  add_session(*f.backend, "s1");
  add_session(*f.backend, "s2");
  f.backend->sessions.set_has_more(true);
  auto r = f.get("/v1/sessions?limit=2&before=s%203");
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  CHECK(body["has_more"] == true);
  REQUIRE(body["sessions"].size() == 2);
  CHECK(body["sessions"][0]
        == json{{"id", "s1"},
                {"title", "About s1"},
                {"model", "test-model"},
                {"message_count", 4},
                {"created_unix_ms", 1000},
                {"updated_unix_ms", 2000}});
  CHECK(f.backend->last_list().limit() == 2);
  CHECK(f.backend->last_list().before_id() == "s 3");
  CHECK(f.backend->last_principal().user() == "alice");

  CHECK(f.get("/v1/sessions").status == 200);
  CHECK(f.backend->last_list().limit() == 0);
  for (const auto* bad : {"0", "201", "ten", "-1", "5x", ""}) {
    INFO(bad);
    auto e = f.get(std::string{"/v1/sessions?limit="} + bad);
    CHECK(e.status == 400);
    CHECK(error_of(e.body)["message"].get<std::string>().find("`limit`") != std::string::npos);
  }
}

TEST_CASE("one session, its messages, and its deletion", "[gateway_http][unit]") {
  gateway_fixture f;
  add_session(*f.backend, "s1");
  auto info = f.get("/v1/sessions/s1");
  REQUIRE(info.status == 200);
  CHECK(json::parse(info.body)["title"] == "About s1");

  auto* m = f.backend->messages.add_messages();
  m->set_id("m1");
  m->set_role("assistant");
  m->set_turn_id("t1");
  m->set_created_unix_ms(1500);
  *m->add_tool_calls() = tool_call("c1", "clock", "{}").tool_call();
  auto* t = f.backend->messages.add_messages();
  t->set_id("m2");
  t->set_role("tool");
  t->set_content("12:00");
  t->set_tool_call_id("c1");
  t->set_name("clock");
  auto msgs = f.get("/v1/sessions/s1/messages?limit=10");
  REQUIRE(msgs.status == 200);
  CHECK(json::parse(msgs.body)
        == json{{"session_id", "s1"},
                {"messages",
                 {{{"id", "m1"},
                   {"role", "assistant"},
                   {"content", ""},
                   {"turn_id", "t1"},
                   {"created_unix_ms", 1500},
                   {"tool_calls", {{{"id", "c1"}, {"name", "clock"}, {"arguments", "{}"}}}}},
                  {{"id", "m2"},
                   {"role", "tool"},
                   {"content", "12:00"},
                   {"turn_id", ""},
                   {"created_unix_ms", 0},
                   {"tool_call_id", "c1"},
                   {"name", "clock"}}}}});
  CHECK(f.backend->last_messages().session_id() == "s1");
  CHECK(f.backend->last_messages().limit() == 10);
  CHECK(f.get("/v1/sessions/s1/messages?limit=1001").status == 400);

  auto gone = f.send("DELETE", "/v1/sessions/s1");
  REQUIRE(gone.status == 200);
  CHECK(json::parse(gone.body) == json{{"session_id", "s1"}, {"deleted", true}});
  CHECK(f.backend->last_session_id() == "s1");
}

TEST_CASE("an unknown session is the backend's 404 session_not_found", "[gateway_http][unit]") {
  gateway_fixture f;
  auto r = f.get("/v1/sessions/nope");
  CHECK(r.status == 404);
  CHECK(error_of(r.body) == json{{"code", "session_not_found"}, {"message", "no session nope"}});
  f.backend->query_error = gateway::api_error{403, "forbidden", "not your session"};
  auto d = f.send("DELETE", "/v1/sessions/theirs");
  CHECK(d.status == 403);
  CHECK(error_of(d.body)["code"] == "forbidden");
}

TEST_CASE("a session id is percent-decoded and bounded in length", "[gateway_http][unit]") {
  gateway_fixture f;
  (void)f.get("/v1/sessions/a%20b");
  CHECK(f.backend->last_session_id() == "a b");
  auto r = f.get("/v1/sessions/" + std::string(300, 'x'));
  CHECK(r.status == 400);
  CHECK(error_of(r.body)["message"].get<std::string>().find("`id`") != std::string::npos);
}
