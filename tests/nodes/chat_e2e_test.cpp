// End to end: real node processes, one nats-server (JetStream), one
// PostgreSQL, libcurl as the HTTP client, the built-in troupe-dev model.
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/nodes/node_fixture.hpp"
#include "tests/nodes/raw_peer.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "troupe/v1/chat.pb.h"
#include "troupe/v1/inference.pb.h"
#include "troupe/v1/principal.pb.h"
#include "troupe/v1/turn_event.pb.h"

using namespace troupe::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::string fresh_database() {
  static int n = 0;
  return shared_pg_server().create_database("chat_e2e_" + std::to_string(++n));
}

json chat(const node_process& node, const json& body) {
  auto r = post(node, "/v1/chat", body);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

} // namespace

TEST_CASE("a user chats with one node: JSON, SSE, the OpenAI route, history and sessions",
          "[chat][integration]") {
  nats_server nats;
  node_process node{{"solo", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());

  auto first = chat(node, {{"message", "hello there"}});
  CHECK(first["message"]["content"] == "troupe-dev heard: hello there (turn 1)");
  CHECK(first["model"] == "troupe-dev");
  std::string sid = first["session_id"];
  REQUIRE(sid.size() == 32);

  // The session remembers: the dev model counts the turns it was shown.
  auto second = chat(node, {{"message", "again"}, {"session_id", sid}});
  CHECK(second["message"]["content"] == "troupe-dev heard: again (turn 2)");
  CHECK(second["session_id"] == sid);

  auto stream = post(node, "/v1/chat/stream", {{"message", "three words here"}, {"session_id", sid}});
  REQUIRE(stream.status == 200);
  std::string text;
  size_t pos = 0;
  while ((pos = stream.body.find("event: delta\ndata: ", pos)) != std::string::npos) {
    pos += 19;
    text += json::parse(stream.body.substr(pos, stream.body.find('\n', pos) - pos))["text"]
              .get<std::string>();
  }
  CHECK(text == "troupe-dev heard: three words here (turn 3)");
  CHECK(stream.body.find("event: done") != std::string::npos);

  auto msgs = http_get(node.gateway("/v1/sessions/" + sid + "/messages"));
  REQUIRE(msgs.status == 200);
  auto list = json::parse(msgs.body)["messages"];
  REQUIRE(list.size() == 6);
  CHECK(list[0]["role"] == "user");
  CHECK(list[0]["content"] == "hello there");
  CHECK(list[5]["content"] == "troupe-dev heard: three words here (turn 3)");

  auto sessions = json::parse(http_get(node.gateway("/v1/sessions")).body)["sessions"];
  REQUIRE(sessions.size() == 1);
  CHECK(sessions[0]["id"] == sid);

  auto oai = post(node, "/v1/chat/completions",
                  {{"model", "troupe-dev"},
                   {"user", "my-key"},
                   {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  REQUIRE(oai.status == 200);
  auto completion = json::parse(oai.body);
  CHECK(completion["object"] == "chat.completion");
  CHECK(completion["choices"][0]["message"]["content"] == "troupe-dev heard: hi (turn 1)");
  // The same `user` finds the same session again.
  auto again = json::parse(post(node, "/v1/chat/completions",
                                {{"model", "troupe-dev"},
                                 {"user", "my-key"},
                                 {"messages", {{{"role", "user"}, {"content", "more"}}}}})
                             .body);
  CHECK(again["choices"][0]["message"]["content"] == "troupe-dev heard: more (turn 2)");

  auto unknown = post(node, "/v1/chat", {{"message", "x"}, {"session_id", "nosuchsession"}});
  CHECK(unknown.status == 404);
  CHECK(json::parse(unknown.body)["error"]["code"] == "session_not_found");

  auto del = http_send({"DELETE", node.gateway("/v1/sessions/" + sid), {}, {}, 5000});
  CHECK(del.status == 200);
  CHECK(http_get(node.gateway("/v1/sessions/" + sid)).status == 404);

  // Live sessions, the gateway actor and the store workers all stop with the node.
  node.process().signal(SIGTERM);
  CHECK(node.process().wait_for(10s) == 0);
}

TEST_CASE("a session whose node died is re-activated on another node with its history",
          "[chat][integration]") {
  nats_server nats;
  auto db = fresh_database();
  shared_key key_file;
  const auto& key = key_file.path;
  node_process front{{"front", R"(["gateway", "inference"])", nats.url(), db, {}, "dev", key}};
  auto first_host =
      std::make_unique<node_process>(node_options{"host-a", R"(["session"])", nats.url(), db, {}, "dev", key});
  REQUIRE(front.wait_ready());
  REQUIRE(first_host->wait_ready());

  auto keyed = [&](const json& body) {
    return http_send({"POST", front.gateway("/v1/chat"),
                      {"Content-Type: application/json", "Idempotency-Key: order-17"}, body.dump(),
                      10'000});
  };
  auto one_r = keyed({{"message", "remember me"}});
  INFO(one_r.body);
  REQUIRE(one_r.status == 200);
  auto one = json::parse(one_r.body);
  std::string sid = one["session_id"];
  CHECK(one["message"]["content"] == "troupe-dev heard: remember me (turn 1)");

  node_process second_host{{"host-b", R"(["session"])", nats.url(), db, {}, "dev", key}};
  REQUIRE(second_host.wait_ready());
  first_host->process().signal(SIGKILL);
  first_host.reset();

  // The gateway finds nobody at the old address, asks svc.session again, and
  // host-b takes the session over from PostgreSQL. The keyed turn, retried,
  // is answered from what host-a committed; a new turn is turn 2, not turn 1.
  auto retried = keyed({{"message", "remember me"}});
  INFO(retried.body);
  REQUIRE(retried.status == 200);
  CHECK(json::parse(retried.body)["message"]["id"] == one["message"]["id"]);
  CHECK(retried.header("Idempotent-Replayed") == "true");
  auto two = chat(front, {{"message", "still there?"}, {"session_id", sid}});
  CHECK(two["message"]["content"] == "troupe-dev heard: still there? (turn 2)");
  CHECK(two["session_id"] == sid);
}

TEST_CASE("a request retried with the same Idempotency-Key gets the first answer, not a second "
          "turn",
          "[chat][integration]") {
  nats_server nats;
  node_process node{{"solo", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  auto send = [&](const std::string& path, const std::string& key, const json& body) {
    return http_send({"POST", node.gateway(path),
                      {"Content-Type: application/json", "Idempotency-Key: " + key}, body.dump(),
                      10'000});
  };

  auto first = send("/v1/chat", "k-1", {{"message", "charge once"}});
  INFO(first.body);
  REQUIRE(first.status == 200);
  CHECK(first.header("Idempotent-Replayed").empty());
  auto one = json::parse(first.body);
  std::string sid = one["session_id"];
  auto again = send("/v1/chat", "k-1", {{"message", "charge once"}});
  INFO(again.body);
  REQUIRE(again.status == 200);
  CHECK(again.header("Idempotent-Replayed") == "true");
  auto two = json::parse(again.body);
  CHECK(two["session_id"] == sid); // the key found the session the first try made
  CHECK(two["message"]["id"] == one["message"]["id"]);
  CHECK(two["message"]["content"] == "troupe-dev heard: charge once (turn 1)");
  auto msgs = json::parse(http_get(node.gateway("/v1/sessions/" + sid + "/messages")).body);
  CHECK(msgs["messages"].size() == 2);

  auto reused = send("/v1/chat", "k-1", {{"message", "charge twice"}});
  CHECK(reused.status == 422);
  CHECK(json::parse(reused.body)["error"]["code"] == "turn_id_reused");
  auto bad = send("/v1/chat", "has space", {{"message", "x"}});
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["error"]["code"] == "invalid_idempotency_key");

  // The OpenAI route, with a session of the client's own naming: the retry
  // is the same completion, not turn 2.
  json completion{{"model", "troupe-dev"},
                  {"user", "shop"},
                  {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto c1 = send("/v1/chat/completions", "k-2", completion);
  auto c2 = send("/v1/chat/completions", "k-2", completion);
  REQUIRE(c1.status == 200);
  REQUIRE(c2.status == 200);
  CHECK(json::parse(c2.body)["choices"][0]["message"]["content"] == "troupe-dev heard: hi (turn 1)");
  // A streamed retry carries the whole answer as its text.
  auto streamed = send("/v1/chat/stream", "k-1", {{"message", "charge once"}});
  REQUIRE(streamed.status == 200);
  CHECK(streamed.body.find("troupe-dev heard: charge once (turn 1)") != std::string::npos);
  CHECK(streamed.body.find("event: done") != std::string::npos);
}

TEST_CASE("a session refuses a turn whose principal was not signed by the gateway",
          "[chat][integration]") {
  nats_server nats;
  auto db = fresh_database();
  shared_key key_file;
  const auto& key = key_file.path;
  node_process node{{"solo", {}, nats.url(), db, {}, "dev", key}};
  REQUIRE(node.wait_ready());
  std::string sid = chat(node, {{"message", "mine"}})["session_id"];

  troupe::v1::Principal who;
  who.set_tenant("default");
  who.set_user("dev");
  who.set_expires_unix_ms(std::numeric_limits<int64_t>::max());
  troupe::v1::TurnRequest turn;
  turn.set_session_id(sid);
  turn.set_message("let me in");
  troupe::v1::Envelope env;
  env.set_id("forged-1");
  env.set_payload_type("troupe.v1.TurnRequest");
  env.set_payload(turn.SerializeAsString());
  env.mutable_principal()->set_principal(who.SerializeAsString());
  env.mutable_principal()->set_key_id("k1");
  env.mutable_principal()->set_signature(std::string(32, 'x')); // not an HMAC of anything
  raw_peer peer{nats.url()};
  auto subject = "troupe.test.node.solo.session." + sid;
  auto reply = peer.request_bytes(subject, env.SerializeAsString(), 3000);
  REQUIRE(reply);
  troupe::v1::Envelope answer;
  REQUIRE(answer.ParseFromString(*reply));
  REQUIRE(answer.payload_type() == "troupe.v1.Error");
  troupe::v1::Error err;
  REQUIRE(err.ParseFromString(answer.payload()));
  CHECK(err.code() == "principal_invalid");

  // No principal at all: refused by the session itself.
  env.clear_principal();
  env.set_id("forged-2");
  reply = peer.request_bytes(subject, env.SerializeAsString(), 3000);
  REQUIRE(reply);
  REQUIRE(answer.ParseFromString(*reply));
  REQUIRE(err.ParseFromString(answer.payload()));
  CHECK(err.code() == "principal_missing");

  // Nothing was written by either attempt.
  auto msgs = json::parse(http_get(node.gateway("/v1/sessions/" + sid + "/messages")).body);
  CHECK(msgs["messages"].size() == 2);
}

TEST_CASE("every step of a turn is a TurnEvent on the bus, in order, that a plain NATS client reads",
          "[chat][integration]") {
  nats_server nats;
  node_process node{{"evented", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  raw_peer watcher{nats.url()};
  watcher.subscribe("troupe.test.events.>");

  auto first = chat(node, {{"message", "hello"}});
  std::string sid = first["session_id"];
  auto second = chat(node, {{"message", "again"}, {"session_id", sid}});
  std::string turn = second["turn_id"];

  std::vector<troupe::v1::TurnEvent> events;
  std::vector<std::string> subjects;
  while (events.empty() || events.back().type() != troupe::v1::TurnEvent::TURN_COMPLETED) {
    auto got = watcher.next(5000);
    REQUIRE(got);
    troupe::v1::Envelope env;
    REQUIRE(env.ParseFromString(got->data));
    REQUIRE(env.payload_type() == "troupe.v1.TurnEvent");
    troupe::v1::TurnEvent ev;
    REQUIRE(ev.ParseFromString(env.payload()));
    if (ev.turn_id() != turn)
      continue;
    events.push_back(ev);
    subjects.push_back(got->subject);
  }
  using T = troupe::v1::TurnEvent;
  std::vector<T::Type> types;
  for (const auto& e : events)
    types.push_back(e.type());
  CHECK(types
        == std::vector<T::Type>{T::TURN_STARTED, T::MODEL_INVOKED, T::MODEL_RESPONSE,
                                T::TURN_PERSISTED, T::TURN_COMPLETED});
  for (size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].seq() == i);
    CHECK(events[i].session_id() == sid);
    CHECK(events[i].node() == "evented");
    auto token = T::Type_Name(events[i].type());
    std::transform(token.begin(), token.end(), token.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    CHECK(subjects[i]
          == "troupe.test.events." + events[i].tenant() + "." + sid + "." + turn + "." + token);
  }
  // What went to the model: this turn's message, after the two of the history.
  REQUIRE(events[1].payload_type() == "troupe.v1.ModelInvoked");
  troupe::v1::ModelInvoked invoked;
  REQUIRE(invoked.ParseFromString(events[1].payload()));
  CHECK(invoked.history_messages() == 2);
  REQUIRE(invoked.request().messages_size() == 1);
  CHECK(invoked.request().messages(0).content() == "again");
  CHECK(invoked.request().model() == "");
  REQUIRE(events[4].payload_type() == "troupe.v1.TurnResult");
  troupe::v1::TurnResult result;
  REQUIRE(result.ParseFromString(events[4].payload()));
  CHECK(result.reply().content() == "troupe-dev heard: again (turn 2)");
  // The message the model got is the one stored, same id.
  auto msgs = json::parse(http_get(node.gateway("/v1/sessions/" + sid + "/messages")).body);
  CHECK(msgs["messages"][2]["id"] == invoked.request().messages(0).id());
}

TEST_CASE("an idle session is passivated and comes back with its history, and the node counts it all",
          "[chat][integration]") {
  nats_server nats;
  node_process node{{"idler", {}, nats.url(), fresh_database(), "[session]\nidle_timeout_s = 1\n"}};
  REQUIRE(node.wait_ready());
  auto metrics = [&] { return http_get(node.admin("/metrics")).body; };
  auto has = [](const std::string& text, const std::string& line) {
    return text.find(line) != std::string::npos;
  };

  // The gauge may already be back at 0 when a loaded machine scrapes it
  // more than the idle second after the answer: only counters are read
  // right after a turn, the gauge is waited for.
  auto first = chat(node, {{"message", "hello"}});
  std::string sid = first["session_id"];
  CHECK(has(metrics(), R"(troupe_session_activations_total{outcome="hosted"} 1)"));
  // Passivated after a second without turns: the actor is gone.
  REQUIRE(wait_until(30s, [&] { return has(metrics(), "troupe_sessions_active 0\n"); }));
  // The next turn activates it again, from PostgreSQL, history and all.
  auto second = chat(node, {{"message", "back"}, {"session_id", sid}});
  CHECK(second["message"]["content"] == "troupe-dev heard: back (turn 2)");
  auto text = metrics();
  CHECK(has(text, R"(troupe_session_activations_total{outcome="hosted"} 2)"));
  CHECK(has(text, R"(troupe_turns_total{outcome="completed"} 2)"));
  CHECK(has(text, "troupe_turn_seconds_count 2\n"));
  // A turn that fails is counted as such.
  auto bad = post(node, "/v1/chat", {{"message", "x"}, {"session_id", sid}, {"model", "nosuch/model"}});
  CHECK(bad.status >= 400);
  CHECK(has(metrics(), R"(troupe_turns_total{outcome="failed"} 1)"));
}

TEST_CASE("new sessions are spread over the session nodes by load, also by a gateway that hosts "
          "sessions itself",
          "[chat][integration]") {
  nats_server nats;
  auto db = fresh_database();
  shared_key key_file;
  const auto& key = key_file.path;
  node_process both{{"both", R"(["gateway", "session", "inference"])", nats.url(), db, {}, "dev", key}};
  REQUIRE(both.wait_ready());
  node_process other{{"other", R"(["session"])", nats.url(), db, {}, "dev", key}};
  REQUIRE(other.wait_ready());
  // The gateway hears the same heartbeats as the node's peer list.
  REQUIRE(wait_until(30s, [&] {
    auto peers = json::parse(http_get(both.admin("/health")).body)["peers"];
    return std::find(peers.begin(), peers.end(), "other") != peers.end();
  }));

  for (int i = 0; i < 12; ++i)
    chat(both, {{"message", "hello " + std::to_string(i)}});
  auto hosted = [](const node_process& n) {
    auto text = http_get(n.admin("/metrics")).body;
    auto at = text.find("\ntroupe_sessions_active ");
    REQUIRE(at != std::string::npos);
    return std::stoi(text.substr(at + 24));
  };
  // Twelve new sessions, none idle yet: the two nodes share them (the
  // gateway's local node used to take all twelve).
  auto mine = hosted(both), theirs = hosted(other);
  CHECK(mine + theirs == 12);
  CHECK(mine >= 4);
  CHECK(theirs >= 4);
}
