#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "bus/kv.hpp"
#include "tests/bus/transport_test_support.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

bus::jetstream open_js(const bus::nats_transport& t) {
  auto js = bus::jetstream::open(t);
  if (!js)
    FAIL("jetstream::open: " << caf::to_string(js.error()));
  return std::move(*js);
}

struct kv_fixture {
  nats_server srv;
  std::shared_ptr<bus::nats_transport> t = connect_to(srv, "kv");
  bus::jetstream js = open_js(*t);

  bus::kv_bucket bucket(const std::string& name, std::chrono::milliseconds ttl = 0ms,
                        int history = 5) {
    auto b = bus::kv_bucket::open_or_create(js, name, ttl, history);
    if (!b)
      FAIL("open_or_create: " << caf::to_string(b.error()));
    return std::move(*b);
  }
};

/// What a watch handler saw, safe across the watch thread.
struct watch_log {
  std::mutex mtx;
  std::vector<bus::kv_entry> entries;
  std::atomic<bool> initial_done{false};
  bus::kv_handler handler() {
    return [this](const bus::kv_entry& e) {
      std::lock_guard<std::mutex> guard{mtx};
      entries.push_back(e);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> guard{mtx};
    return entries.size();
  }
  std::vector<bus::kv_entry> get() {
    std::lock_guard<std::mutex> guard{mtx};
    return entries;
  }
};

} // namespace

TEST_CASE("a KV put is read back with its revision and a missing key is reported as such",
          "[kv][integration]") {
  kv_fixture f;
  auto b = f.bucket("nodes");
  CHECK(b.name() == "nodes");
  auto missing = b.get("node.n1");
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == bus::errc::kv_key_not_found);
  auto r1 = b.put("node.n1", "10.0.0.1");
  REQUIRE(r1);
  auto e = b.get("node.n1");
  REQUIRE(e);
  CHECK(e->key == "node.n1");
  CHECK(e->value == "10.0.0.1");
  CHECK(e->revision == *r1);
  CHECK(e->op == bus::kv_op::put);
  auto r2 = b.put("node.n1", std::string("bin\0ary", 7));
  REQUIRE(r2);
  CHECK(*r2 > *r1);
  CHECK(b.get("node.n1")->value == std::string("bin\0ary", 7));
  REQUIRE_FALSE(b.remove("node.n1"));
  auto gone = b.get("node.n1");
  REQUIRE_FALSE(gone);
  CHECK(code_of(gone.error()) == bus::errc::kv_key_not_found);
  // the same bucket opened again sees the same data
  REQUIRE(b.put("node.n2", "x"));
  auto again = f.bucket("nodes");
  CHECK(again.get("node.n2")->value == "x");
}

TEST_CASE("create fails with a revision mismatch when the key exists, and works again after a "
          "delete",
          "[kv][integration]") {
  kv_fixture f;
  auto b = f.bucket("owners");
  auto first = b.create("session.s1", "node-a");
  REQUIRE(first);
  auto second = b.create("session.s1", "node-b");
  REQUIRE_FALSE(second);
  CHECK(code_of(second.error()) == bus::errc::kv_revision_mismatch);
  CHECK(b.get("session.s1")->value == "node-a");
  REQUIRE_FALSE(b.remove("session.s1"));
  auto third = b.create("session.s1", "node-b");
  REQUIRE(third);
  CHECK(b.get("session.s1")->value == "node-b");
}

TEST_CASE("compare-and-set succeeds at the current revision and loses a race with a stale one",
          "[kv][integration]") {
  kv_fixture f;
  auto b = f.bucket("cas");
  auto r1 = b.put("leader", "node-a");
  REQUIRE(r1);
  auto r2 = b.update("leader", "node-b", *r1);
  REQUIRE(r2);
  CHECK(*r2 > *r1);
  auto lost = b.update("leader", "node-c", *r1); // someone wrote since r1
  REQUIRE_FALSE(lost);
  CHECK(code_of(lost.error()) == bus::errc::kv_revision_mismatch);
  CHECK(b.get("leader")->value == "node-b");
  auto absent = b.update("nobody.here", "x", 5);
  REQUIRE_FALSE(absent);
  CHECK(code_of(absent.error()) == bus::errc::kv_revision_mismatch);
}

TEST_CASE("concurrent compare-and-set increments never lose an update", "[kv][integration]") {
  kv_fixture f;
  auto b = f.bucket("counter");
  REQUIRE(b.put("n", "0"));
  std::atomic<int> mismatches{0};
  std::atomic<int> other_errors{0}; // Catch2 assertions are not thread-safe: count, check after
  auto worker = [&] {
    for (int i = 0; i < 15; ++i) {
      for (int tries = 0; tries < 100; ++tries) {
        auto cur = b.get("n");
        if (!cur) {
          ++other_errors;
          return;
        }
        auto next = std::to_string(std::stoi(cur->value) + 1);
        auto r = b.update("n", next, cur->revision);
        if (r)
          break;
        if (bus::is(r.error(), bus::errc::kv_revision_mismatch))
          ++mismatches;
        else
          ++other_errors;
      }
    }
  };
  std::thread a(worker), c(worker);
  a.join();
  c.join();
  CHECK(other_errors == 0);
  CHECK(b.get("n")->value == "30");
  INFO("lost races retried: " << mismatches.load());
}

TEST_CASE("a watch sees current values, then later puts and deletes, and stops when destroyed",
          "[kv][integration]") {
  kv_fixture f;
  auto b = f.bucket("dir");
  REQUIRE(b.put("svc.echo.n1", "up"));
  REQUIRE(b.put("other.key", "ignored"));
  watch_log log;
  auto w = b.watch("svc.echo.*", log.handler(), [&] { log.initial_done = true; });
  REQUIRE(w);
  REQUIRE(wait_until(2s, [&] { return log.initial_done.load(); }));
  REQUIRE(log.size() == 1);
  CHECK(log.get()[0].key == "svc.echo.n1");
  CHECK(log.get()[0].value == "up");
  REQUIRE(b.put("svc.echo.n2", "up"));
  REQUIRE(b.put("other.key2", "ignored"));
  REQUIRE_FALSE(b.remove("svc.echo.n1"));
  REQUIRE(wait_until(2s, [&] { return log.size() >= 3; }));
  auto seen = log.get();
  CHECK(seen[1].key == "svc.echo.n2");
  CHECK(seen[1].op == bus::kv_op::put);
  CHECK(seen[2].key == "svc.echo.n1");
  CHECK(seen[2].op == bus::kv_op::remove);
  CHECK(seen[2].revision > seen[1].revision);

  auto t0 = std::chrono::steady_clock::now();
  *w = bus::kv_watch{nullptr}; // destroys the running watch
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  REQUIRE(b.put("svc.echo.n3", "up"));
  std::this_thread::sleep_for(200ms);
  CHECK(log.size() == 3);

  // an empty bucket reports its (empty) initial state at once
  auto empty = f.bucket("empty");
  std::atomic<bool> done{false};
  auto w2 = empty.watch(
      ">", [](const bus::kv_entry&) {}, [&] { done = true; });
  REQUIRE(w2);
  CHECK(wait_until(2s, [&] { return done.load(); }));
}

TEST_CASE("a watch handler may stop its own watch", "[kv][integration]") {
  kv_fixture f;
  auto b = f.bucket("selfstop");
  std::atomic<int> calls{0};
  std::optional<bus::kv_watch> w;
  std::mutex mtx;
  auto started = b.watch("k", [&](const bus::kv_entry&) {
    ++calls;
    std::lock_guard<std::mutex> guard{mtx};
    w.reset();
  });
  REQUIRE(started);
  {
    std::lock_guard<std::mutex> guard{mtx};
    w.emplace(std::move(*started));
  }
  REQUIRE(b.put("k", "1"));
  REQUIRE(wait_until(2s, [&] { return calls == 1; }));
  REQUIRE(b.put("k", "2"));
  std::this_thread::sleep_for(200ms);
  CHECK(calls == 1);
}

TEST_CASE("values expire after the bucket's ttl", "[kv][integration]") {
  kv_fixture f;
  auto b = f.bucket("ephemeral", 600ms, 1);
  REQUIRE(b.put("presence.n1", "here"));
  CHECK(b.get("presence.n1"));
  CHECK(wait_until(4s, [&] { return !b.get("presence.n1"); }));
  CHECK(code_of(b.get("presence.n1").error()) == bus::errc::kv_key_not_found);
}

TEST_CASE("bad bucket names, keys and settings are refused without crashing", "[kv][integration]") {
  kv_fixture f;
  for (std::string bad : std::vector<std::string>{"", "has.dot", "sp ace", "star*"}) {
    INFO(bad);
    auto b = bus::kv_bucket::open_or_create(f.js, bad);
    REQUIRE_FALSE(b);
    CHECK(code_of(b.error()) == bus::errc::kv_error);
  }
  CHECK_FALSE(bus::kv_bucket::open_or_create(f.js, "ok", 0ms, 0));
  CHECK_FALSE(bus::kv_bucket::open_or_create(f.js, "ok", 0ms, 65));
  CHECK_FALSE(bus::kv_bucket::open_or_create(f.js, "ok", -1ms, 1));
  auto b = f.bucket("keys");
  for (std::string bad : std::vector<std::string>{"", ".lead", "trail.", "sp ace", "a*"}) {
    INFO(bad);
    auto put = b.put(bad, "v");
    REQUIRE_FALSE(put);
    CHECK(code_of(put.error()) == bus::errc::kv_error);
    auto got = b.get(bad);
    REQUIRE_FALSE(got);
  }
  auto no_handler = b.watch(">", bus::kv_handler{});
  REQUIRE_FALSE(no_handler);
  CHECK(code_of(no_handler.error()) == bus::errc::kv_error);
}
