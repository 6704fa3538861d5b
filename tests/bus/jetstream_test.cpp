#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "bus/jetstream.hpp"
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

bus::stream_config orders_stream() {
  bus::stream_config cfg;
  cfg.name = "ORDERS";
  cfg.subjects = {"orders.>"};
  cfg.max_age = std::chrono::hours(1);
  return cfg;
}

bus::pull_consumer open_consumer(bus::jetstream& js, const std::string& durable,
                                 const bus::consumer_config& cfg = {}) {
  auto c = js.pull_consumer("ORDERS", durable, "orders.>", cfg);
  if (!c)
    FAIL("pull_consumer: " << caf::to_string(c.error()));
  return std::move(*c);
}

std::vector<bus::js_message> fetch(bus::pull_consumer& c, int batch,
                                   std::chrono::milliseconds timeout = 500ms) {
  auto msgs = c.fetch(batch, timeout);
  if (!msgs)
    FAIL("fetch: " << caf::to_string(msgs.error()));
  return std::move(*msgs);
}

} // namespace

TEST_CASE("ensure_stream creates a stream, is idempotent, and applies a changed config",
          "[jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  auto cfg = orders_stream();
  REQUIRE_FALSE(js.ensure_stream(cfg));
  REQUIRE_FALSE(js.ensure_stream(cfg));
  cfg.max_age = std::chrono::hours(2);
  cfg.subjects.push_back("returns.>");
  REQUIRE_FALSE(js.ensure_stream(cfg));
  auto ack = js.publish("returns.r1", "back");
  REQUIRE(ack);
  CHECK(ack->stream == "ORDERS");

  auto bad = cfg;
  bad.name = "has.dot";
  CHECK(code_of(js.ensure_stream(bad)) == bus::errc::jetstream_error);
  bad = cfg;
  bad.subjects = {"a..b"};
  CHECK(code_of(js.ensure_stream(bad)) == bus::errc::invalid_subject);
  bad = cfg;
  bad.subjects.clear();
  CHECK(code_of(js.ensure_stream(bad)) == bus::errc::jetstream_error);
  bad = cfg;
  bad.replicas = 3; // a single server cannot hold three replicas
  CHECK(code_of(js.ensure_stream(bad)) == bus::errc::jetstream_error);
  bad = cfg;
  bad.storage = bus::storage_kind::memory; // storage cannot change in place
  CHECK(code_of(js.ensure_stream(bad)) == bus::errc::jetstream_error);
  REQUIRE_FALSE(js.delete_stream("ORDERS"));
  REQUIRE_FALSE(js.delete_stream("ORDERS")); // already gone: fine
}

TEST_CASE("a JetStream publish is acknowledged with its stream sequence and a repeated message id "
          "is stored once",
          "[jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  REQUIRE_FALSE(js.ensure_stream(orders_stream()));
  auto first = js.publish("orders.new", "o-1", "order-1");
  REQUIRE(first);
  CHECK(first->stream == "ORDERS");
  CHECK(first->sequence == 1);
  CHECK_FALSE(first->duplicate);
  auto again = js.publish("orders.new", "o-1", "order-1");
  REQUIRE(again);
  CHECK(again->duplicate);
  auto second = js.publish("orders.new", "o-2"); // no id given: a fresh one
  REQUIRE(second);
  CHECK(second->sequence == 2);
  CHECK_FALSE(second->duplicate);

  auto consumer = open_consumer(js, "checker");
  auto msgs = fetch(consumer, 10);
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].data() == "o-1");
  CHECK(msgs[0].subject() == "orders.new");
  CHECK(msgs[0].sequence() == 1);
  CHECK(msgs[0].header("Nats-Msg-Id") == std::optional<std::string>{"order-1"});
  CHECK(msgs[0].headers().at("Nats-Msg-Id") == "order-1");
  CHECK(msgs[1].header("Nats-Msg-Id").has_value());
  CHECK_FALSE(msgs[1].header("No-Such-Header").has_value());
}

TEST_CASE("a JetStream publish to a subject no stream takes fails fast",
          "[jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  auto t0 = std::chrono::steady_clock::now();
  auto ack = js.publish("nowhere.at.all", "x", "id-1", 2s, 3);
  REQUIRE_FALSE(ack);
  CHECK(code_of(ack.error()) == bus::errc::jetstream_error);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  auto bad = js.publish("orders.*", "x");
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == bus::errc::invalid_subject);
}

TEST_CASE("publish retries timed-out attempts across a server restart without storing duplicates",
          "[jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  REQUIRE_FALSE(js.ensure_stream(orders_stream()));
  srv.stop();
  REQUIRE(wait_until(3s, [&] { return t->state() == bus::link_state::reconnecting; }));
  // Every attempt is buffered while the server is down and sent on reconnect.
  std::atomic<bool> revived{false};
  std::thread revive([&] {
    std::this_thread::sleep_for(700ms);
    try {
      srv.start();
      revived = true;
    } catch (const std::exception&) {
      // reported below: Catch2 assertions belong on the test's thread
    }
  });
  auto ack = js.publish("orders.new", "survives", "restart-1", 300ms, 12);
  revive.join();
  REQUIRE(revived);
  REQUIRE(ack);
  CHECK(ack->stream == "ORDERS");
  CHECK(ack->sequence == 1);

  auto consumer = open_consumer(js, "after-restart");
  auto msgs = fetch(consumer, 20);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].data() == "survives");

  // When every attempt times out, the caller is told so.
  srv.stop();
  REQUIRE(wait_until(3s, [&] { return t->state() == bus::link_state::reconnecting; }));
  auto lost = js.publish("orders.new", "x", "never", 50ms, 2);
  REQUIRE_FALSE(lost);
  CHECK(code_of(lost.error()) == bus::errc::timeout);
}

TEST_CASE("a durable pull consumer re-opened by name continues after the last ack",
          "[jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  REQUIRE_FALSE(js.ensure_stream(orders_stream()));
  for (int i = 1; i <= 5; ++i)
    REQUIRE(js.publish("orders.new", "o-" + std::to_string(i)));
  {
    auto c = open_consumer(js, "worker");
    auto first = fetch(c, 2);
    REQUIRE(first.size() == 2);
    CHECK(first[0].data() == "o-1");
    CHECK(first[1].data() == "o-2");
    CHECK(first[0].delivered() == 1);
    REQUIRE_FALSE(first[0].ack());
    REQUIRE_FALSE(first[1].ack_sync(2s));
  } // destroyed: the durable stays on the server
  auto c = open_consumer(js, "worker");
  auto rest = fetch(c, 10);
  REQUIRE(rest.size() == 3);
  CHECK(rest[0].data() == "o-3");
  CHECK(rest[0].sequence() == 3);
  CHECK(rest[2].data() == "o-5");
  for (auto& m : rest)
    REQUIRE_FALSE(m.ack());
  // nothing left: a timeout is an empty batch, not an error
  auto t0 = std::chrono::steady_clock::now();
  CHECK(fetch(c, 10, 200ms).empty());
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  // a filtered consumer sees only its subjects
  REQUIRE(js.publish("orders.cancel", "c-1"));
  auto cancels = js.pull_consumer("ORDERS", "cancels", "orders.cancel");
  REQUIRE(cancels);
  auto got = fetch(*cancels, 10);
  REQUIRE(got.size() == 1);
  CHECK(got[0].data() == "c-1");
  // deleting the durable forgets its position
  REQUIRE_FALSE(js.delete_consumer("ORDERS", "cancels"));
  REQUIRE_FALSE(js.delete_consumer("ORDERS", "cancels"));
}

TEST_CASE("nak redelivers at once, an unacked message returns after the ack wait, term never",
          "[jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  REQUIRE_FALSE(js.ensure_stream(orders_stream()));
  REQUIRE(js.publish("orders.new", "nak-me"));
  REQUIRE(js.publish("orders.new", "forget-me"));
  REQUIRE(js.publish("orders.new", "poison"));
  bus::consumer_config cfg;
  cfg.ack_wait = 300ms;
  auto c = open_consumer(js, "redelivery", cfg);
  auto first = fetch(c, 3);
  REQUIRE(first.size() == 3);
  REQUIRE_FALSE(first[0].nak());
  REQUIRE_FALSE(first[2].term());
  // first[1] is neither acked nor nakked
  std::vector<std::string> again;
  auto until = std::chrono::steady_clock::now() + 3s;
  while (again.size() < 2 && std::chrono::steady_clock::now() < until) {
    for (auto& m : fetch(c, 3, 200ms)) {
      again.emplace_back(m.data());
      CHECK(m.delivered() == 2);
      REQUIRE_FALSE(m.ack());
    }
  }
  std::sort(again.begin(), again.end());
  CHECK(again == std::vector<std::string>{"forget-me", "nak-me"});
  CHECK(fetch(c, 3, 500ms).empty()); // the poison message is gone for good
}

TEST_CASE("bad consumer requests are refused with clear errors", "[jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  auto missing = js.pull_consumer("NO_SUCH_STREAM", "w", "x.>");
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == bus::errc::jetstream_error);
  REQUIRE_FALSE(js.ensure_stream(orders_stream()));
  auto bad_name = js.pull_consumer("ORDERS", "has.dot", "orders.>");
  REQUIRE_FALSE(bad_name);
  CHECK(code_of(bad_name.error()) == bus::errc::jetstream_error);
  auto bad_filter = js.pull_consumer("ORDERS", "w", "orders..x");
  REQUIRE_FALSE(bad_filter);
  CHECK(code_of(bad_filter.error()) == bus::errc::invalid_subject);
  auto c = open_consumer(js, "w");
  auto zero = c.fetch(0, 100ms);
  REQUIRE_FALSE(zero);
  CHECK(code_of(zero.error()) == bus::errc::jetstream_error);
  // after the connection closed, calls fail instead of crashing
  REQUIRE_FALSE(t->drain(2s));
  auto closed = js.publish("orders.new", "x", "", 200ms, 1);
  REQUIRE_FALSE(closed);
  CHECK(code_of(closed.error()) == bus::errc::not_connected);
  auto after = c.fetch(1, 100ms);
  REQUIRE_FALSE(after);
}
