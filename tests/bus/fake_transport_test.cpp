#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bus/errc.hpp"
#include "bus/fake_transport.hpp"

using namespace troupe::bus;
using namespace std::chrono_literals;

namespace {

/// Collects what a subscription receives; keeps each message's owner so the
/// views can be checked after delivery.
struct inbox_log {
  std::vector<message> got;
  message_handler handler() {
    return [this](message m) { got.push_back(std::move(m)); };
  }
  std::vector<std::string> data() const {
    std::vector<std::string> out;
    for (auto& m : got)
      out.emplace_back(m.data);
    return out;
  }
};

subscription_ptr must_subscribe(fake_transport& t, const std::string& subject,
                                const std::string& queue, message_handler h) {
  auto sub = t.subscribe(subject, queue, std::move(h));
  REQUIRE(sub);
  return std::move(*sub);
}

errc code_of(const caf::error& err) {
  REQUIRE(err);
  REQUIRE(err.category() == error_category);
  return static_cast<errc>(err.code());
}

} // namespace

TEST_CASE("fake delivers to exact and wildcard subscribers before publish returns",
          "[fake_transport][unit]") {
  fake_transport t;
  inbox_log exact, star, tail, other;
  auto s1 = must_subscribe(t, "orders.eu.new", "", exact.handler());
  auto s2 = must_subscribe(t, "orders.*.new", "", star.handler());
  auto s3 = must_subscribe(t, "orders.>", "", tail.handler());
  auto s4 = must_subscribe(t, "orders.*", "", other.handler());
  REQUIRE_FALSE(t.publish("orders.eu.new", "o-1", "reply.here"));
  // synchronous: everything is there already, without waiting
  REQUIRE(exact.got.size() == 1);
  REQUIRE(star.got.size() == 1);
  REQUIRE(tail.got.size() == 1);
  CHECK(other.got.empty());
  CHECK(exact.got[0].subject == "orders.eu.new");
  CHECK(exact.got[0].data == "o-1");
  CHECK(exact.got[0].reply == "reply.here");
  // every subscriber shares the one copy of the bytes
  CHECK(exact.got[0].data.data() == tail.got[0].data.data());
  REQUIRE_FALSE(t.publish("orders.us", "o-2"));
  CHECK(other.data() == std::vector<std::string>{"o-2"});
  CHECK(tail.data() == std::vector<std::string>{"o-1", "o-2"});
  CHECK(star.got.size() == 1);
}

TEST_CASE("a message's views stay valid while its owner lives", "[fake_transport][unit]") {
  fake_transport t;
  message kept;
  auto s = must_subscribe(t, "a.b", "", [&](message m) { kept = std::move(m); });
  {
    std::string transient = "payload that goes out of scope";
    REQUIRE_FALSE(t.publish("a.b", transient));
    transient.assign(transient.size(), 'X');
  }
  t.clear_published();
  CHECK(kept.data == "payload that goes out of scope");
  CHECK(kept.subject == "a.b");
}

TEST_CASE("each queue group gets a message once while plain subscribers get it too",
          "[fake_transport][unit]") {
  fake_transport t;
  inbox_log w1, w2, w3, audit1, audit2, watcher;
  auto a = must_subscribe(t, "jobs.run", "workers", w1.handler());
  auto b = must_subscribe(t, "jobs.run", "workers", w2.handler());
  auto c = must_subscribe(t, "jobs.*", "workers", w3.handler());
  auto d = must_subscribe(t, "jobs.run", "audit", audit1.handler());
  auto e = must_subscribe(t, "jobs.>", "audit", audit2.handler());
  auto f = must_subscribe(t, "jobs.run", "", watcher.handler());
  for (int i = 0; i < 30; ++i)
    REQUIRE_FALSE(t.publish("jobs.run", std::to_string(i)));
  CHECK(w1.got.size() + w2.got.size() + w3.got.size() == 30);
  CHECK(audit1.got.size() + audit2.got.size() == 30);
  CHECK(watcher.got.size() == 30);
  // round robin: the load is spread evenly across members
  CHECK(w1.got.size() == 10);
  CHECK(w2.got.size() == 10);
  CHECK(w3.got.size() == 10);
  CHECK(audit1.got.size() == 15);
  // a member leaving: the rest take all of it
  a.reset();
  b.reset();
  for (int i = 0; i < 5; ++i)
    REQUIRE_FALSE(t.publish("jobs.run", "late"));
  CHECK(w3.got.size() == 15);
}

TEST_CASE("inboxes are unique and carry replies published from inside a handler",
          "[fake_transport][unit]") {
  fake_transport t;
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto inbox = t.new_inbox();
    CHECK(inbox.rfind("_INBOX.", 0) == 0);
    CHECK(inbox.find_first_of("*> ") == std::string::npos);
    CHECK(seen.insert(inbox).second);
  }
  fake_transport other;
  CHECK(seen.count(other.new_inbox()) == 0);

  // a responder answering on the requester's inbox, re-entering publish
  auto svc = must_subscribe(t, "svc.echo", "echo", [&](message m) {
    REQUIRE_FALSE(t.publish(m.reply, "echo:" + std::string{m.data}));
  });
  auto inbox = t.new_inbox();
  inbox_log replies;
  auto rsub = must_subscribe(t, inbox + ".>", "", replies.handler());
  REQUIRE_FALSE(t.publish("svc.echo", "hi", inbox + ".1"));
  REQUIRE(replies.got.size() == 1);
  CHECK(replies.got[0].subject == inbox + ".1");
  CHECK(replies.got[0].data == "echo:hi");
  auto log = t.published();
  REQUIRE(log.size() == 2);
  CHECK(log[0].subject == "svc.echo");
  CHECK(log[0].data == "hi");
  CHECK(log[0].reply == inbox + ".1");
  CHECK(log[1].subject == inbox + ".1");
  CHECK(log[1].reply.empty());
}

TEST_CASE("destroying a subscription stops delivery, even if it outlives the fake",
          "[fake_transport][unit]") {
  subscription_ptr survivor;
  {
    fake_transport t;
    inbox_log got;
    auto sub = must_subscribe(t, "x.y", "", got.handler());
    CHECK(t.subscriptions() == 1);
    REQUIRE_FALSE(t.publish("x.y", "1"));
    sub.reset();
    CHECK(t.subscriptions() == 0);
    REQUIRE_FALSE(t.publish("x.y", "2"));
    CHECK(got.data() == std::vector<std::string>{"1"});
    survivor = must_subscribe(t, "x.z", "", [](message) {});
  }
  survivor.reset(); // the fake is gone: must not touch it
  SUCCEED("handle destroyed after its transport");
}

TEST_CASE("a subscription removed by a handler during delivery gets nothing more",
          "[fake_transport][unit]") {
  fake_transport t;
  int second_calls = 0;
  subscription_ptr second;
  auto first = must_subscribe(t, "s.t", "", [&](message) { second.reset(); });
  second = must_subscribe(t, "s.t", "", [&](message) { ++second_calls; });
  REQUIRE_FALSE(t.publish("s.t", "a"));
  REQUIRE_FALSE(t.publish("s.t", "b"));
  CHECK(second_calls == 0);
  CHECK(t.subscriptions() == 1);
}

TEST_CASE("injected publish failures hit exactly the next n publishes", "[fake_transport][unit]") {
  fake_transport t;
  inbox_log got;
  auto sub = must_subscribe(t, "f.g", "", got.handler());
  t.fail_publishes(2);
  CHECK(code_of(t.publish("f.g", "1")) == errc::publish_failed);
  CHECK(code_of(t.publish("f.g", "2")) == errc::publish_failed);
  CHECK_FALSE(t.publish("f.g", "3"));
  CHECK(got.data() == std::vector<std::string>{"3"});
  REQUIRE(t.published().size() == 1);
  CHECK(t.published()[0].data == "3");
  t.fail_publishes(5);
  t.fail_publishes(0);
  CHECK_FALSE(t.publish("f.g", "4"));
  t.fail_publishes(-3);
  CHECK_FALSE(t.publish("f.g", "5"));
}

TEST_CASE("state changes reach every state handler on the caller's thread",
          "[fake_transport][unit]") {
  fake_transport t;
  CHECK(t.state() == link_state::connected);
  std::vector<link_state> a, b;
  auto caller = std::this_thread::get_id();
  bool same_thread = true;
  t.on_state_change([&](link_state s) {
    a.push_back(s);
    same_thread = same_thread && std::this_thread::get_id() == caller;
  });
  t.on_state_change([&](link_state s) { b.push_back(s); });
  t.on_state_change(state_handler{}); // ignored, never called
  t.set_state(link_state::reconnecting);
  CHECK(t.state() == link_state::reconnecting);
  t.set_state(link_state::connected);
  t.set_state(link_state::closed);
  auto expected =
      std::vector<link_state>{link_state::reconnecting, link_state::connected, link_state::closed};
  CHECK(a == expected);
  CHECK(b == expected);
  CHECK(same_thread);
}

TEST_CASE("publishes made while reconnecting are held and delivered in order on reconnect",
          "[fake_transport][unit]") {
  fake_transport t;
  inbox_log got;
  auto sub = must_subscribe(t, "buf.>", "", got.handler());
  std::vector<std::string> at_reconnect;
  t.on_state_change([&](link_state s) {
    if (s == link_state::connected)
      at_reconnect = got.data(); // buffered messages already flushed
  });
  t.set_state(link_state::reconnecting);
  for (int i = 0; i < 3; ++i)
    REQUIRE_FALSE(t.publish("buf.x", std::to_string(i)));
  CHECK(got.got.empty());
  CHECK(t.published().size() == 3);
  CHECK(code_of(t.flush(10ms)) == errc::timeout);
  // subscribing while reconnecting works, as the client re-sends subscriptions
  inbox_log late;
  auto late_sub = must_subscribe(t, "buf.x", "", late.handler());
  t.set_state(link_state::connected);
  CHECK(got.data() == std::vector<std::string>{"0", "1", "2"});
  CHECK(late.got.size() == 3);
  CHECK(at_reconnect == std::vector<std::string>{"0", "1", "2"});
  CHECK_FALSE(t.flush(10ms));
}

TEST_CASE("a closed fake refuses publishes and subscriptions and drops what it held",
          "[fake_transport][unit]") {
  fake_transport t;
  inbox_log got;
  auto sub = must_subscribe(t, "c.d", "", got.handler());
  t.set_state(link_state::reconnecting);
  REQUIRE_FALSE(t.publish("c.d", "held"));
  t.set_state(link_state::closed);
  CHECK(code_of(t.publish("c.d", "x")) == errc::not_connected);
  auto refused = t.subscribe("c.e", "", [](message) {});
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == errc::not_connected);
  CHECK(code_of(t.flush(10ms)) == errc::not_connected);
  t.set_state(link_state::connected);
  CHECK(got.got.empty()); // the held message died with the connection
  REQUIRE_FALSE(t.publish("c.d", "after"));
  CHECK(got.data() == std::vector<std::string>{"after"});
}

TEST_CASE("drain closes once and reports publishes it could not flush", "[fake_transport][unit]") {
  fake_transport t;
  std::vector<link_state> states;
  t.on_state_change([&](link_state s) { states.push_back(s); });
  CHECK_FALSE(t.drain(100ms));
  CHECK(t.state() == link_state::closed);
  CHECK_FALSE(t.drain(100ms)); // safe twice, no second callback
  CHECK(states == std::vector<link_state>{link_state::closed});

  fake_transport u;
  u.set_state(link_state::reconnecting);
  REQUIRE_FALSE(u.publish("p.q", "stuck"));
  CHECK(code_of(u.drain(100ms)) == errc::timeout);
  CHECK(u.state() == link_state::closed);
}

TEST_CASE("bad subjects, queue names and handlers are refused without crashing",
          "[fake_transport][unit]") {
  fake_transport t;
  for (std::string bad : std::vector<std::string>{"", "a..b", "a.*", "a.>", "a b", ".x", "x.",
                                                  std::string("n\0l", 3)}) {
    INFO(bad);
    CHECK(code_of(t.publish(bad, "d")) == errc::invalid_subject);
  }
  CHECK(code_of(t.publish("ok.subject", "d", "bad reply")) == errc::invalid_subject);
  CHECK(code_of(t.publish("ok.subject", "d", "reply.*")) == errc::invalid_subject);
  CHECK(t.published().empty());
  for (std::string bad : std::vector<std::string>{"", "a..b", "a.>.c", "a*", "sp ace"}) {
    INFO(bad);
    auto sub = t.subscribe(bad, "", [](message) {});
    REQUIRE_FALSE(sub);
    CHECK(code_of(sub.error()) == errc::invalid_subject);
  }
  auto bad_queue = t.subscribe("a.b", "two words", [](message) {});
  REQUIRE_FALSE(bad_queue);
  CHECK(code_of(bad_queue.error()) == errc::invalid_subject);
  auto no_handler = t.subscribe("a.b", "", message_handler{});
  REQUIRE_FALSE(no_handler);
  CHECK(code_of(no_handler.error()) == errc::invalid_subject);
  CHECK(t.subscriptions() == 0);
  // binary payloads are just bytes
  std::string binary("\0\xff\x01", 3);
  std::string got;
  auto sub = must_subscribe(t, "bin", "", [&](message m) { got = std::string{m.data}; });
  REQUIRE_FALSE(t.publish("bin", binary));
  CHECK(got == binary);
}

TEST_CASE("a handler that answers its own subject is stopped instead of overflowing the stack",
          "[fake_transport][unit]") {
  fake_transport t;
  int calls = 0;
  caf::error last;
  auto sub = must_subscribe(t, "loop", "", [&](message) {
    ++calls;
    if (auto err = t.publish("loop", "again"))
      last = err;
  });
  REQUIRE_FALSE(t.publish("loop", "start"));
  CHECK(calls == fake_transport::max_delivery_depth);
  CHECK(code_of(last) == errc::publish_failed);
  // the depth is per chain: later publishes work normally
  t.fail_publishes(0);
  sub.reset();
  CHECK_FALSE(t.publish("loop", "fine"));
}

TEST_CASE("an unserved request gets an empty no-responders message when emulated",
          "[fake_transport][unit]") {
  fake_transport t;
  inbox_log replies;
  auto inbox = t.new_inbox();
  auto sub = must_subscribe(t, inbox + ".*", "", replies.handler());
  REQUIRE_FALSE(t.publish("svc.none", "req", inbox + ".1"));
  CHECK(replies.got.empty()); // off by default: silence, as for a plain publish
  t.emulate_no_responders(true);
  REQUIRE_FALSE(t.publish("svc.none", "req", inbox + ".2"));
  REQUIRE(replies.got.size() == 1);
  CHECK(replies.got[0].subject == inbox + ".2");
  CHECK(replies.got[0].data.empty());
  // a plain publish nobody hears gets no status
  REQUIRE_FALSE(t.publish("svc.none", "fire and forget"));
  CHECK(replies.got.size() == 1);
  // served requests are unaffected
  auto svc = must_subscribe(t, "svc.some", "q", [](message) {});
  REQUIRE_FALSE(t.publish("svc.some", "req", inbox + ".3"));
  CHECK(replies.got.size() == 1);
}

TEST_CASE("concurrent publishers and subscribers are safe", "[fake_transport][unit]") {
  fake_transport t;
  std::atomic<int> plain{0}, queued{0};
  auto a = must_subscribe(t, "load.>", "", [&](message) { ++plain; });
  auto b = must_subscribe(t, "load.*", "grp", [&](message) { ++queued; });
  auto c = must_subscribe(t, "load.x", "grp", [&](message) { ++queued; });
  std::atomic<int> failures{0}; // Catch2 assertions are not thread-safe: count, check after
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (t.publish("load.x", "m"))
          ++failures;
        auto churn = t.subscribe("load.x", "", [](message) {});
        if (!churn)
          ++failures;
      }
    });
  for (auto& th : threads)
    th.join();
  CHECK(failures == 0);
  CHECK(plain == 2000);
  CHECK(queued == 2000);
  CHECK(t.published().size() == 2000);
  CHECK(t.subscriptions() == 3);
}
