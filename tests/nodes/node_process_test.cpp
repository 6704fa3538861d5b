// End-to-end tests of the `troupe` executable as real processes, against a
// real nats-server and a real PostgreSQL.
#include <catch2/catch.hpp>
#include <csignal>
#include <set>

#include "tests/nodes/node_fixture.hpp"
#include "tests/nodes/raw_peer.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "troupe/v1/node.pb.h"

using namespace troupe::test;
using namespace std::chrono_literals;

namespace {

std::string fresh_database() {
  static int n = 0;
  return shared_pg_server().create_database("node_test_" + std::to_string(++n));
}

troupe::v1::NodeInfo node_info(raw_peer& peer, const std::string& node) {
  auto reply = peer.request("troupe.test.ctl." + node, troupe::v1::NodeInfoRequest{});
  REQUIRE(reply);
  REQUIRE(reply->payload_type() == "troupe.v1.NodeInfo");
  troupe::v1::NodeInfo info;
  REQUIRE(info.ParseFromString(reply->payload()));
  return info;
}

std::string pong_node(raw_peer& peer, const std::string& subject, uint64_t seq) {
  troupe::v1::Ping ping;
  ping.set_seq(seq);
  ping.set_data("hello");
  auto reply = peer.request(subject, ping);
  REQUIRE(reply);
  REQUIRE(reply->payload_type() == "troupe.v1.Pong");
  troupe::v1::Pong pong;
  REQUIRE(pong.ParseFromString(reply->payload()));
  CHECK(pong.seq() == seq);
  CHECK(pong.data() == "hello");
  return pong.node_id();
}

} // namespace

TEST_CASE("a node with every role becomes ready and reports itself on its control subject",
          "[node][integration]") {
  nats_server nats;
  node_process node{{"alpha", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());

  raw_peer peer{nats.url()};
  auto info = node_info(peer, "alpha");
  CHECK(info.node_id() == "alpha");
  CHECK(info.cluster() == "test");
  CHECK(info.roles_size() == 8);
  CHECK(info.ready());
  CHECK(!info.version().empty());
  CHECK(info.uptime_ms() >= 0);
  std::set<std::string> supervisors;
  for (const auto& a : info.actors()) {
    CHECK(a.running());
    supervisors.insert(a.role());
  }
  for (auto role : {"gateway", "session", "inference", "tool", "guardrail", "memory", "audit",
                    "sandbox", "system"})
    CHECK(supervisors.count(role) == 1);

  auto health = nlohmann::json::parse(http_get(node.admin("/health")).body);
  CHECK(health["ready"] == true);
  CHECK(health["nats"] == "connected");
  CHECK(health["postgres"]["migrations_applied"] == true);
  CHECK(http_get(node.admin("/livez")).status == 200);
  auto metrics = http_get(node.admin("/metrics"));
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("troupe_nats_connected 1") != std::string::npos);
}

TEST_CASE("two nodes share a role's queue group, serve their own roles and see each other",
          "[node][integration]") {
  nats_server nats;
  auto db = fresh_database();
  node_process a{{"node-a", R"(["gateway", "session"])", nats.url(), db}};
  node_process b{{"node-b", R"(["session", "inference"])", nats.url(), db}};
  REQUIRE(a.wait_ready());
  REQUIRE(b.wait_ready());

  raw_peer peer{nats.url()};
  std::set<std::string> session_nodes;
  for (uint64_t i = 0; i < 40; ++i)
    session_nodes.insert(pong_node(peer, "troupe.test.svc.session", i));
  CHECK(session_nodes == std::set<std::string>{"node-a", "node-b"});
  CHECK(pong_node(peer, "troupe.test.svc.inference", 1) == "node-b");
  CHECK(pong_node(peer, "troupe.test.svc.gateway", 2) == "node-a");
  CHECK_FALSE(peer.request("troupe.test.svc.audit", troupe::v1::Ping{}, 300));

  // Heartbeats travel node to node: each lists the other as a peer.
  REQUIRE(wait_until(5s, [&] {
    auto ia = node_info(peer, "node-a");
    auto ib = node_info(peer, "node-b");
    return ia.peers_size() == 1 && ia.peers(0) == "node-b" && ib.peers_size() == 1
           && ib.peers(0) == "node-a";
  }));
}

TEST_CASE("a node answers bad envelopes with typed errors and keeps serving",
          "[node][integration]") {
  nats_server nats;
  node_process node{{"gamma", R"(["session"])", nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  raw_peer peer{nats.url()};

  auto code_of = [](const std::optional<std::string>& bytes) {
    REQUIRE(bytes);
    troupe::v1::Envelope env;
    REQUIRE(env.ParseFromString(*bytes));
    REQUIRE(env.payload_type() == "troupe.v1.Error");
    troupe::v1::Error err;
    REQUIRE(err.ParseFromString(env.payload()));
    return err.code();
  };
  CHECK(code_of(peer.request_bytes("troupe.test.svc.session", "\xff\xff not protobuf")) == "malformed");
  troupe::v1::Envelope unknown;
  unknown.set_id("u1");
  unknown.set_payload_type("troupe.v1.NoSuchThing");
  CHECK(code_of(peer.request_bytes("troupe.test.svc.session", unknown.SerializeAsString()))
        == "unknown_type");
  troupe::v1::Envelope late;
  late.set_id("l1");
  late.set_payload_type("troupe.v1.Ping");
  late.set_deadline_unix_ms(1000);
  CHECK(code_of(peer.request_bytes("troupe.test.svc.session", late.SerializeAsString()))
        == "deadline_expired");
  CHECK(pong_node(peer, "troupe.test.svc.session", 7) == "gamma");
  auto metrics = http_get(node.admin("/metrics")).body;
  CHECK(metrics.find("troupe_bus_rejected_total{reason=\"malformed\"} 1") != std::string::npos);
}

TEST_CASE("a killed NATS server makes the node unready until it is back", "[node][integration]") {
  nats_server nats;
  node_process node{{"delta", R"(["session"])", nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  nats.stop();
  REQUIRE(wait_until(10s, [&] {
    auto r = http_get(node.admin("/ready"));
    return r.status == 503 && nlohmann::json::parse(r.body)["missing"].dump().find("nats")
                                != std::string::npos;
  }));
  CHECK(http_get(node.admin("/livez")).status == 200);
  nats.start();
  REQUIRE(node.wait_ready(15s));
  raw_peer peer{nats.url()};
  CHECK(pong_node(peer, "troupe.test.svc.session", 1) == "delta");
}

TEST_CASE("SIGTERM drains a node and it exits 0 within 10 seconds", "[node][integration]") {
  nats_server nats;
  node_process node{{"epsilon", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  auto t0 = std::chrono::steady_clock::now();
  node.process().signal(SIGTERM);
  CHECK(node.process().wait_for(10s) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(node.log().find("draining") != std::string::npos);
}

TEST_CASE("a node refuses to start when PostgreSQL is unreachable", "[node][integration]") {
  nats_server nats;
  closed_port nobody;
  auto url = "postgresql://postgres@127.0.0.1:" + std::to_string(nobody.port()) + "/none";
  node_process node{{"zeta", {}, nats.url(), url}};
  CHECK(node.process().wait_for(20s) == 1);
  CHECK(node.log().find("migration failed") != std::string::npos);
}

TEST_CASE("a node refuses to start with an invalid config and names every problem",
          "[node][integration]") {
  node_process node{{"eta", R"(["gateway", "wizard"])", "nats://127.0.0.1:1", "mysql://x",
                     "[log]\nbogus = 1\n"}};
  CHECK(node.process().wait_for(10s) == 1);
  auto log = node.log();
  CHECK(log.find("E004") != std::string::npos);
  CHECK(log.find("E005") != std::string::npos);
  CHECK(log.find("refusing to start") != std::string::npos);
}

TEST_CASE("troupe migrate applies the schema once and reports an unreachable database",
          "[node][integration]") {
  auto db = fresh_database();
  temp_dir dir{"troupe-migrate"};
  auto run = [&](const std::string& url, const std::string& name) {
    auto r = run_troupe({"migrate", "--database-url", url}, dir.path() + "/" + name);
    return std::pair{r.code, r.output};
  };
  auto [first_code, first] = run(db, "first.log");
  CHECK(first_code == 0);
  CHECK(first.find("applied migration 1\n") != std::string::npos);
  auto [again_code, again] = run(db, "again.log");
  CHECK(again_code == 0);
  CHECK(again.find("applied migration") == std::string::npos);
  CHECK(again.find("schema at version") != std::string::npos);
  closed_port nobody;
  auto [down_code, down] =
    run("postgresql://postgres@127.0.0.1:" + std::to_string(nobody.port()) + "/x", "down.log");
  CHECK(down_code == 1);
  CHECK(down.find("troupe migrate: ") != std::string::npos);
}
