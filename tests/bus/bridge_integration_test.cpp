// Two "nodes" (two NATS connections, two actor systems, two bridges) on one
// real nats-server.
#include <catch2/catch.hpp>
#include <map>
#include <mutex>

#include "bus/nats_transport.hpp"
#include "bus/subjects.hpp"
#include "tests/bus/bridge_fixture.hpp"
#include "tests/support/nats_server.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

bus::transport_ptr connect(const nats_server& server, const std::string& name) {
  bus::nats_options opts;
  opts.urls = {server.url()};
  opts.name = name;
  auto t = bus::connect_nats(opts);
  REQUIRE(t);
  return *t;
}

/// A node: its own connection, actor system and bridge.
struct node : bridge_fixture {
  node(const nats_server& server, const std::string& name)
    : bridge_fixture(connect(server, name)) {}
  ~node() {
    (void) transport->flush(1s);
  }
};

const std::string echo_subject = "troupe.test.svc.echo";

} // namespace

TEST_CASE("two nodes exchange a typed Ping/Pong through their bridges over real NATS",
          "[bridge][integration]") {
  nats_server server;
  node a{server, "node-a"};
  node b{server, "node-b"};
  b.spawn_handler("node-b");
  REQUIRE(b.serve(echo_subject, "echo", b.handlers[0]) == true);
  REQUIRE_FALSE(b.transport->flush(2s));
  for (uint64_t i = 1; i <= 20; ++i) {
    auto request = ping(i, "over the wire");
    auto reply = a.request(echo_subject, request);
    REQUIRE(reply);
    CHECK(reply->correlation_id() == request.id());
    auto pong = bus::payload_as<troupe::v1::Pong>(*reply);
    REQUIRE(pong);
    CHECK(pong->seq() == i);
    CHECK(pong->data() == "over the wire");
    CHECK(pong->node_id() == "node-b");
  }
  CHECK(a.status().requests == 20);
  CHECK(b.status().received == 20);
}

TEST_CASE("a queue-group service on two nodes shares the requests between them",
          "[bridge][integration]") {
  nats_server server;
  node a{server, "node-a"};
  node b{server, "node-b"};
  a.spawn_handler("node-a");
  b.spawn_handler("node-b");
  REQUIRE(a.serve(echo_subject, "echo", a.handlers[0]) == true);
  REQUIRE(b.serve(echo_subject, "echo", b.handlers[0]) == true);
  REQUIRE_FALSE(a.transport->flush(2s));
  REQUIRE_FALSE(b.transport->flush(2s));
  std::map<std::string, int> by_node;
  for (uint64_t i = 0; i < 60; ++i) {
    auto reply = a.request(echo_subject, ping(i));
    REQUIRE(reply);
    ++by_node[bus::payload_as<troupe::v1::Pong>(*reply)->node_id()];
  }
  CHECK(by_node["node-a"] > 0);
  CHECK(by_node["node-b"] > 0);
  CHECK(by_node["node-a"] + by_node["node-b"] == 60);
}

TEST_CASE("a request nobody serves on a real server fails fast with no_responders",
          "[bridge][integration]") {
  nats_server server;
  node a{server, "node-a"};
  auto t0 = std::chrono::steady_clock::now();
  auto reply = a.request("troupe.test.svc.nobody", ping(1), caf::timespan{5s});
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::no_responders);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
}

TEST_CASE("a request whose handler stays silent times out on a real server within its deadline",
          "[bridge][integration]") {
  nats_server server;
  node a{server, "node-a"};
  node b{server, "node-b"};
  auto log = b.spawn_handler();
  log->answer = handler_log::mode::hold;
  REQUIRE(b.serve(echo_subject, "echo", b.handlers[0]) == true);
  REQUIRE_FALSE(b.transport->flush(2s));
  auto t0 = std::chrono::steady_clock::now();
  auto reply = a.request(echo_subject, ping(1), caf::timespan{200ms});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::timeout);
  CHECK(elapsed >= 190ms);
  CHECK(elapsed < 1s);
  CHECK(log->count() == 1);
}

TEST_CASE("bad bytes from a peer on a real server get a typed error reply and are counted",
          "[bridge][integration]") {
  nats_server server;
  node a{server, "node-a"};
  node b{server, "node-b"};
  auto log = b.spawn_handler();
  REQUIRE(b.serve(echo_subject, "echo", b.handlers[0]) == true);
  REQUIRE_FALSE(b.transport->flush(2s));
  std::mutex mtx;
  std::vector<std::string> replies;
  auto inbox = a.transport->new_inbox();
  auto sub = a.transport->subscribe(inbox, "", [&](bus::message m) {
    std::lock_guard<std::mutex> guard{mtx};
    replies.emplace_back(m.data);
  });
  REQUIRE(sub);
  REQUIRE_FALSE(a.transport->flush(2s));
  REQUIRE_FALSE(a.transport->publish(echo_subject, "\xff\xff not protobuf", inbox));
  auto expired = ping(1);
  expired.set_deadline_unix_ms(1000);
  REQUIRE_FALSE(a.transport->publish(echo_subject, expired.SerializeAsString(), inbox));
  REQUIRE(wait_until(3s, [&] {
    std::lock_guard<std::mutex> guard{mtx};
    return replies.size() == 2;
  }));
  std::vector<std::string> codes;
  for (const auto& bytes : replies) {
    troupe::v1::Envelope env;
    REQUIRE(env.ParseFromString(bytes));
    auto err = bus::error_of(env);
    codes.push_back(std::string{bus::to_string(code_of(err))});
  }
  std::sort(codes.begin(), codes.end());
  CHECK(codes == std::vector<std::string>{"deadline_expired", "malformed"});
  CHECK(b.status().rejected == 2);
  CHECK(log->count() == 0);
  CHECK(b.metrics().find("troupe_bus_rejected_total{reason=\"malformed\"} 1")
        != std::string::npos);
}

TEST_CASE("a direct message crosses from one node to an actor at the other's address",
          "[bridge][integration]") {
  nats_server server;
  node a{server, "node-a"};
  node b{server, "node-b"};
  auto log = b.spawn_handler();
  bus::subjects subjects{"test"};
  auto direct = *subjects.direct("node-b", "session", "s-1");
  REQUIRE(b.serve(direct, "", b.handlers[0]) == true);
  REQUIRE_FALSE(b.transport->flush(2s));
  auto env = ping(5);
  a.self->send(a.bridge, publish_atom::value, direct, env);
  REQUIRE(wait_until(3s, [&] { return log->count() == 1; }));
  std::lock_guard<std::mutex> guard{log->mtx};
  CHECK(log->seen[0].env.id() == env.id());
  CHECK_FALSE(log->seen[0].reply->expected());
}
