// Turns through a real provider: a node whose `default` role names a fake
// OpenAI-compatible server (a real HTTP server on loopback), configured with
// the `troupe provider` and `troupe role` commands as an operator would.
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/nodes/node_fixture.hpp"
#include "tests/support/fake_openai_server.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/temp_dir.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct provider_cluster {
  fake_openai_server fake;
  nats_server nats;
  std::string db;
  temp_dir tmp{"troupe-provider"};
  std::string dir = tmp.path();
  std::unique_ptr<node_process> node;

  /// `extra`: more node configuration (TOML), after the inference section;
  /// `roles`: the node's roles (empty: all); `principal_key`: a key file the
  /// cluster's other nodes share (empty: the node's default).
  explicit provider_cluster(const std::string& extra = {}, const std::string& roles = {},
                            const std::string& principal_key = {}) {
    static int n = 0;
    db = shared_pg_server().create_database("provider_e2e_" + std::to_string(++n));
    auto key = dir + "/master.key";
    REQUIRE(cli({"migrate", "--database-url", db}) == 0);
    REQUIRE(cli({"provider", "add", "fake", "--base-url", fake.base_url(), "--api-key-env",
                 "FAKE_KEY", "--master-key", key, "--database-url", db})
            == 0);
    REQUIRE(cli({"role", "set", "default", "fake/fake-model", "--database-url", db}) == 0);
    node = std::make_unique<node_process>(node_options{
        "prov",
        roles,
        nats.url(),
        db,
        "[inference]\nmaster_key_file = \"" + key + "\"\nrequest_timeout_s = 60\n" + extra,
        "dev",
        principal_key});
    REQUIRE(node->wait_ready());
  }
  ~provider_cluster() { node.reset(); }

  int cli(std::vector<std::string> args) {
    return run_troupe(std::move(args), dir + "/cli.log", {"FAKE_KEY=sk-fake-secret"}).code;
  }

  http_response post(const std::string& path, const json& body, long timeout_ms = 10'000) {
    return http_send(
        {"POST", node->gateway(path), {"Content-Type: application/json"}, body.dump(), timeout_ms});
  }
};

} // namespace

TEST_CASE("a turn goes to the provider the default role names, with its key",
          "[chat][integration]") {
  provider_cluster c;
  auto r = c.post("/v1/chat", {{"message", "hello provider"}});
  INFO(r.body << "\n" << c.node->log());
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  CHECK(body["message"]["content"] == "fake heard: hello provider");
  auto seen = c.fake.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("Authorization") == "Bearer sk-fake-secret");
  CHECK(json::parse(seen[0].body)["model"] == "fake-model");
}

TEST_CASE("a client that hangs up cancels its turn through the bus: the provider call stops and "
          "the session takes the next turn at once",
          "[chat][integration]") {
  provider_cluster c;
  auto first = c.post("/v1/chat", {{"message", "hello"}});
  REQUIRE(first.status == 200);
  std::string sid = json::parse(first.body)["session_id"];

  // The provider never answers this one. The client hangs up once the call
  // has reached the provider: a client that gave up earlier would leave the
  // hang queued for the next turn.
  c.fake.push(scripted_response::hang());
  {
    json body = {{"message", "never answered"}, {"session_id", sid}};
    raw_connection client{c.node->gateway_port()};
    client.send("POST /v1/chat/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: "
                + std::to_string(body.dump().size()) + "\r\n\r\n" + body.dump());
    REQUIRE(wait_until(30s, [&] { return c.fake.requests().size() == 2; }));
  }

  // Inference dropped the provider call (the fake saw its client leave) ...
  REQUIRE(wait_until(30s, [&] { return c.fake.hangs_abandoned() == 1; }));
  // ... and the session did not wait for it: the next turn is answered well
  // before the provider's 60 s timeout would have ended the hung call.
  auto next = c.post("/v1/chat", {{"message", "after"}, {"session_id", sid}}, 20'000);
  INFO(next.body << "\n" << c.node->log());
  REQUIRE(next.status == 200);
  CHECK(json::parse(next.body)["message"]["content"] == "fake heard: after");
  // The cancelled turn left nothing behind.
  auto msgs = json::parse(http_get(c.node->gateway("/v1/sessions/" + sid + "/messages")).body);
  REQUIRE(msgs["messages"].size() == 4);
  CHECK(msgs["messages"][2]["content"] == "after");
}

TEST_CASE("a turn for a session whose queue is full is refused at once with 429 session_busy and "
          "Retry-After",
          "[chat][integration]") {
  // No queue at all: while one turn runs, the next is refused.
  provider_cluster c{"[session]\nmax_queued_turns = 0\n"};
  auto first = c.post("/v1/chat", {{"message", "hello"}});
  REQUIRE(first.status == 200);
  std::string sid = json::parse(first.body)["session_id"];

  c.fake.push(scripted_response::hang());
  http_response running;
  std::thread holder{[&] {
    running = c.post("/v1/chat", {{"message", "held"}, {"session_id", sid}}, 30'000);
  }};
  REQUIRE(wait_until(30s, [&] { return c.fake.requests().size() == 2; }));

  auto busy = c.post("/v1/chat", {{"message", "one too many"}, {"session_id", sid}});
  INFO(busy.body << "\n" << c.node->log());
  CHECK(busy.status == 429);
  CHECK(json::parse(busy.body)["error"]["code"] == "session_busy");
  auto retry = busy.header("Retry-After");
  REQUIRE_FALSE(retry.empty());
  CHECK(std::stoi(retry) >= 1);
  // The refused turn reached neither the provider nor the history.
  CHECK(c.fake.requests().size() == 2);

  // The held turn ends when the node stops; the client thread is joined.
  c.node.reset();
  holder.join();
}

TEST_CASE("a turn in flight on a session node that dies or hangs is answered once, by the "
          "session's next host",
          "[chat][integration]") {
  int signal = 0;
  std::string noticed;
  SECTION("killed: nobody answers its control subject any more") {
    signal = SIGKILL;
    noticed = "is gone with 1 turn(s) in flight";
  }
  SECTION("hung: still subscribed, silent for the silence limit") {
    signal = SIGSTOP;
    noticed = "has not answered for the silence limit with 1 turn(s) in flight";
  }
  shared_key key;
  provider_cluster c{{}, R"(["gateway", "inference"])", key.path};
  auto host = [&](const char* id) {
    return std::make_unique<node_process>(
        node_options{id, R"(["session"])", c.nats.url(), c.db, {}, "dev", key.path});
  };
  auto host_a = host("host-a");
  REQUIRE(host_a->wait_ready());
  auto first = c.post("/v1/chat", {{"message", "hello"}});
  INFO(first.body);
  REQUIRE(first.status == 200);
  std::string sid = json::parse(first.body)["session_id"];
  auto host_b = host("host-b");
  REQUIRE(host_b->wait_ready());

  // The provider holds host-a's call; host-a dies while its turn is in flight.
  c.fake.push(scripted_response::hang());
  http_response second;
  std::thread client{[&] {
    second = c.post("/v1/chat", {{"message", "second"}, {"session_id", sid}}, 60'000);
  }};
  REQUIRE(wait_until(30s, [&] { return c.fake.requests().size() == 2; }));
  host_a->process().signal(signal);
  client.join();

  // The gateway found host-a gone (or silent) and sent the turn again, under its id, to
  // host-b, which took the session over and ran it (it had not committed).
  INFO(second.body << "\n" << c.node->log());
  REQUIRE(second.status == 200);
  CHECK(json::parse(second.body)["message"]["content"] == "fake heard: second");
  CHECK(c.node->log().find(noticed) != std::string::npos);
  auto msgs = json::parse(http_get(c.node->gateway("/v1/sessions/" + sid + "/messages")).body);
  REQUIRE(msgs["messages"].size() == 4); // once, not twice
  CHECK(msgs["messages"][2]["content"] == "second");
  if (signal == SIGSTOP)
    host_a->process().signal(SIGCONT); // to stop as it is told
}
