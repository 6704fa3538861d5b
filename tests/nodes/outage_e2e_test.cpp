// A node through outages of its servers: nats-server and PostgreSQL stopped
// and started again under a real node process, with libcurl as the client.
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/nodes/node_fixture.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

json chat(const node_process& node, const json& body) {
  auto r = post(node, "/v1/chat", body);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

/// Clients chatting back to back until destroyed, each request in a new
/// session (so activations and their PostgreSQL reads run all the time);
/// each request is recorded with when it started.
class chatters {
public:
  using clock = std::chrono::steady_clock;
  struct outcome {
    clock::time_point started;
    long status;
    std::string body;
  };

  chatters(const node_process& node, int n) {
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([this, &node] {
        while (!stop_) {
          auto started = clock::now();
          auto r = post(node, "/v1/chat", {{"message", "load"}}, 30'000);
          std::lock_guard lk{m_};
          done_.push_back({started, r.status, r.body});
        }
      });
  }
  ~chatters() { stop(); }

  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  std::vector<outcome> done() const {
    std::lock_guard lk{m_};
    return done_;
  }
  size_t answered_since(clock::time_point t) const {
    std::lock_guard lk{m_};
    return std::count_if(done_.begin(), done_.end(),
                         [&](const outcome& o) { return o.started >= t && o.status == 200; });
  }

private:
  std::atomic<bool> stop_{false};
  mutable std::mutex m_;
  std::vector<outcome> done_;
  std::vector<std::thread> threads_;
};

} // namespace

TEST_CASE("while NATS is down a chat fails at once with 503 bus_unavailable, and once the node is "
          "ready again the next chat is served",
          "[chat][outage][integration]") {
  nats_server nats;
  node_process node{{"outage", {}, nats.url(), shared_pg_server().create_database("outage_nats")}};
  REQUIRE(node.wait_ready());
  auto sid = chat(node, {{"message", "before"}})["session_id"].get<std::string>();
  nats.stop();
  REQUIRE(wait_until(10s, [&] { return node.ready_status() == 503; }));

  // Not after a request timeout: the 2 s client timeout would cut that off.
  auto down = http_send({"POST", node.gateway("/v1/chat"), {"Content-Type: application/json"},
                         json{{"message", "during"}, {"session_id", sid}}.dump(), 2000});
  INFO(down.body);
  REQUIRE(down.status == 503);
  CHECK(json::parse(down.body)["error"]["code"] == "bus_unavailable");
  CHECK(down.header("Retry-After") == "1");
  CHECK(http_send({"GET", node.gateway("/v1/sessions"), {}, {}, 2000}).status == 503);

  nats.start();
  REQUIRE(wait_until(30s, [&] { return node.ready_status() == 200; }));
  // The first chat once ready is served: the subscriptions came back first.
  auto after = chat(node, {{"message", "after"}, {"session_id", sid}});
  CHECK(after["message"]["content"] == "troupe-dev heard: after (turn 2)");
}

TEST_CASE("after a PostgreSQL restart no request started once the node is ready again fails, "
          "and readiness follows the database",
          "[chat][outage][integration]") {
  pg_server pg; // its own: restarting the shared one would cut other tests off
  nats_server nats;
  node_process node{{"pgout", {}, nats.url(), pg.create_database("outage_pg")}};
  REQUIRE(node.wait_ready());
  auto load = std::make_unique<chatters>(node, 4);
  REQUIRE(wait_until(30s, [&] { return load->answered_since({}) >= 40; }));
  bool idle = false;
  SECTION("idle through the restart: every pooled session is stale afterwards") { idle = true; }
  SECTION("under load through the restart: sessions fail and reconnect meanwhile") {}
  if (idle)
    load.reset();

  pg.stop();
  REQUIRE(wait_until(10s, [&] { return node.ready_status() == 503; }));
  pg.start();
  auto back = chatters::clock::now();
  REQUIRE(wait_until(10s, [&] { return node.ready_status() == 200; }));
  auto ready = chatters::clock::now();
  INFO("ready " << std::chrono::duration_cast<std::chrono::milliseconds>(ready - back).count()
                << " ms after PostgreSQL accepted connections again");
  if (idle)
    load = std::make_unique<chatters>(node, 4);
  REQUIRE(wait_until(30s, [&] { return load->answered_since(ready) >= 40; }));
  load->stop();

  // A session the restart ended is replaced before it is used, and a
  // reconnect backoff ends as soon as the database is known to be back.
  for (const auto& o : load->done()) {
    if (o.started < ready)
      continue;
    INFO(o.body);
    CHECK(o.status == 200);
  }
}
