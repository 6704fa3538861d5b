#include <atomic>
#include <catch2/catch.hpp>
#include <prometheus/registry.h>
#include <set>
#include <thread>

#include "bus/nats_transport.hpp"
#include "common/metrics.hpp"
#include "tests/bus/transport_test_support.hpp"
#include "tests/support/free_port.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

bus::subscription_ptr must_subscribe(bus::transport& t, const std::string& subject,
                                     const std::string& queue, bus::message_handler h) {
  auto sub = t.subscribe(subject, queue, std::move(h));
  if (!sub)
    FAIL("subscribe: " << caf::to_string(sub.error()));
  return std::move(*sub);
}

/// Records state changes reported by a transport.
struct state_log {
  std::mutex mtx;
  std::vector<bus::link_state> seen;
  void attach(bus::transport& t) {
    t.on_state_change([this](bus::link_state s) {
      std::lock_guard<std::mutex> guard{mtx};
      seen.push_back(s);
    });
  }
  std::vector<bus::link_state> get() {
    std::lock_guard<std::mutex> guard{mtx};
    return seen;
  }
};

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("messages published on one connection reach wildcard subscribers on another",
          "[transport][integration]") {
  nats_server srv;
  auto pub = connect_to(srv, "pub");
  auto sub = connect_to(srv, "sub");
  CHECK(pub->state() == bus::link_state::connected);
  CHECK(pub->connected_url().find(std::to_string(srv.port())) != std::string::npos);
  collector star, tail, exact;
  auto s1 = must_subscribe(*sub, "orders.*.new", "", star.handler());
  auto s2 = must_subscribe(*sub, "orders.>", "", tail.handler());
  auto s3 = must_subscribe(*sub, "orders.eu.new", "", exact.handler());
  REQUIRE_FALSE(sub->flush(2s));
  const std::string binary("bin\0ary\xff", 8);
  REQUIRE_FALSE(pub->publish("orders.eu.new", binary, "reply.to.me"));
  REQUIRE_FALSE(pub->publish("orders.eu.old", "x"));
  REQUIRE_FALSE(pub->flush(2s));
  REQUIRE(tail.wait_for(2));
  REQUIRE(star.wait_for(1));
  REQUIRE(exact.wait_for(1));
  auto m = exact.messages()[0];
  CHECK(m.subject == "orders.eu.new");
  CHECK(m.reply == "reply.to.me");
  CHECK(m.data == binary); // bytes intact, NULs included
  CHECK(m.owner != nullptr);
  CHECK(tail.data() == std::vector<std::string>{binary, "x"});
  std::this_thread::sleep_for(50ms);
  CHECK(star.size() == 1); // orders.eu.old does not match orders.*.new
  CHECK(tail.messages()[1].reply.empty());
}

TEST_CASE("a received message stays readable after the handler returns, for as long as it is held",
          "[transport][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  collector got;
  auto s = must_subscribe(*t, "keep.me", "", got.handler());
  REQUIRE_FALSE(t->flush(2s));
  for (int i = 0; i < 100; ++i)
    REQUIRE_FALSE(t->publish("keep.me", "payload-" + std::to_string(i)));
  REQUIRE(got.wait_for(100));
  s.reset();
  auto all = got.messages();
  for (int i = 0; i < 100; ++i)
    CHECK(all[static_cast<size_t>(i)].data == "payload-" + std::to_string(i));
}

TEST_CASE("each queue group member gets a share and each message reaches one member only",
          "[transport][integration]") {
  nats_server srv;
  auto a = connect_to(srv, "a");
  auto b = connect_to(srv, "b");
  auto pub = connect_to(srv, "pub");
  collector w1, w2, w3, audit;
  auto s1 = must_subscribe(*a, "jobs.run", "workers", w1.handler());
  auto s2 = must_subscribe(*b, "jobs.run", "workers", w2.handler());
  auto s3 = must_subscribe(*b, "jobs.*", "workers", w3.handler());
  auto s4 = must_subscribe(*a, "jobs.run", "", audit.handler());
  REQUIRE_FALSE(a->flush(2s));
  REQUIRE_FALSE(b->flush(2s));
  for (int i = 0; i < 300; ++i)
    REQUIRE_FALSE(pub->publish("jobs.run", std::to_string(i)));
  REQUIRE_FALSE(pub->flush(2s));
  REQUIRE(audit.wait_for(300));
  REQUIRE(wait_until(2s, [&] { return w1.size() + w2.size() + w3.size() >= 300; }));
  std::this_thread::sleep_for(50ms);
  CHECK(w1.size() + w2.size() + w3.size() == 300);
  CHECK(w1.size() > 0);
  CHECK(w2.size() > 0);
  CHECK(w3.size() > 0);
  std::set<std::string> distinct;
  for (auto* c : {&w1, &w2, &w3})
    for (auto& d : c->data())
      distinct.insert(d);
  CHECK(distinct.size() == 300);
}

TEST_CASE("a reply published to an inbox reaches the requester, and an unserved request gets an "
          "empty no-responders message",
          "[transport][integration]") {
  nats_server srv;
  auto client = connect_to(srv, "client");
  auto server = connect_to(srv, "server");
  std::atomic<int> reply_failures{0};
  auto svc = must_subscribe(*server, "svc.echo", "echo", [&](bus::message m) {
    if (server->publish(m.reply, "echo:" + std::string{m.data}))
      ++reply_failures;
  });
  REQUIRE_FALSE(server->flush(2s));
  std::set<std::string> inboxes;
  for (int i = 0; i < 1000; ++i)
    inboxes.insert(client->new_inbox());
  CHECK(inboxes.size() == 1000);
  auto inbox = client->new_inbox();
  CHECK(inbox.rfind("_INBOX.", 0) == 0);
  collector replies;
  auto rsub = must_subscribe(*client, inbox + ".*", "", replies.handler());
  REQUIRE_FALSE(client->publish("svc.echo", "hi", inbox + ".1"));
  REQUIRE(replies.wait_for(1));
  CHECK(replies.messages()[0].subject == inbox + ".1");
  CHECK(replies.data()[0] == "echo:hi");
  REQUIRE_FALSE(client->publish("svc.nobody", "hello?", inbox + ".2"));
  REQUIRE(replies.wait_for(2));
  auto status = replies.messages()[1];
  CHECK(status.subject == inbox + ".2");
  CHECK(status.data.empty());
  CHECK(reply_failures == 0);
}

TEST_CASE("connecting where no server listens fails at once with the URLs in the error",
          "[transport][unit]") {
  closed_port nobody;
  auto port = nobody.port();
  bus::nats_options opts;
  opts.urls = {"nats://127.0.0.1:" + std::to_string(port), "nats://127.0.0.1:1"};
  opts.name = "nobody-home";
  auto t0 = std::chrono::steady_clock::now();
  auto t = bus::connect_nats(opts);
  REQUIRE_FALSE(t);
  CHECK(code_of(t.error()) == bus::errc::not_connected);
  auto text = caf::to_string(t.error());
  CHECK_THAT(text, Catch::Contains("127.0.0.1:" + std::to_string(port)));
  CHECK_THAT(text, Catch::Contains("127.0.0.1:1"));
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);

  auto none = bus::connect_nats(bus::nats_options{});
  REQUIRE_FALSE(none);
  CHECK(code_of(none.error()) == bus::errc::not_connected);
  bus::nats_options garbage;
  garbage.urls = {"::not a url::"};
  auto bad = bus::connect_nats(garbage);
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == bus::errc::not_connected);
}

TEST_CASE("a killed server makes the link reconnect, publishes made meanwhile are buffered and "
          "arrive after the restart",
          "[transport][integration]") {
  nats_server srv;
  prometheus::Registry registry;
  auto t = connect_to(srv, "survivor", &registry);
  state_log states;
  states.attach(*t);
  collector got;
  auto sub = must_subscribe(*t, "buffered.>", "", got.handler());
  REQUIRE_FALSE(t->publish("buffered.before", "0"));
  REQUIRE(got.wait_for(1));
  CHECK(has_line(metrics::render(registry), "troupe_nats_connected{connection=\"survivor\"} 1"));

  srv.stop();
  REQUIRE(wait_until(3s, [&] { return t->state() == bus::link_state::reconnecting; }));
  CHECK(has_line(metrics::render(registry), "troupe_nats_connected{connection=\"survivor\"} 0"));
  for (int i = 1; i <= 3; ++i)
    REQUIRE_FALSE(t->publish("buffered.during", std::to_string(i)));
  CHECK(code_of(t->flush(100ms)) == bus::errc::timeout);

  srv.start();
  REQUIRE(wait_until(5s, [&] { return t->state() == bus::link_state::connected; }));
  REQUIRE(got.wait_for(4));
  CHECK(got.data() == std::vector<std::string>{"0", "1", "2", "3"});
  CHECK(states.get()
        == std::vector<bus::link_state>{bus::link_state::reconnecting, bus::link_state::connected});
  auto text = metrics::render(registry);
  CHECK(has_line(text, "troupe_nats_connected{connection=\"survivor\"} 1"));
  CHECK(has_line(text, "troupe_nats_disconnects_total{connection=\"survivor\"} 1"));
  CHECK(has_line(text, "troupe_nats_reconnects_total{connection=\"survivor\"} 1"));
}

TEST_CASE("publishes beyond the reconnect buffer fail instead of piling up",
          "[transport][integration]") {
  nats_server srv;
  bus::nats_options opts;
  opts.reconnect_buffer_bytes = 1024;
  auto t = connect_to(srv, "small-buffer", nullptr, opts);
  srv.stop();
  REQUIRE(wait_until(3s, [&] { return t->state() == bus::link_state::reconnecting; }));
  const std::string chunk(400, 'x');
  CHECK_FALSE(t->publish("big.data", chunk));
  caf::error refused;
  for (int i = 0; i < 5 && !refused; ++i)
    refused = t->publish("big.data", chunk);
  CHECK(code_of(refused) == bus::errc::publish_failed);
}

TEST_CASE("draining while the server is down closes at once and reports the loss",
          "[transport][integration]") {
  nats_server srv;
  auto t = connect_to(srv, "orphan");
  srv.stop();
  REQUIRE(wait_until(3s, [&] { return t->state() == bus::link_state::reconnecting; }));
  REQUIRE_FALSE(t->publish("lost.message", "x")); // buffered, never to be sent
  auto t0 = std::chrono::steady_clock::now();
  CHECK(code_of(t->drain(5s)) == bus::errc::not_connected);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(t->state() == bus::link_state::closed);
  CHECK_FALSE(t->drain(5s));
}

TEST_CASE("the link closes for good after the allowed reconnect attempts",
          "[transport][integration]") {
  nats_server srv;
  bus::nats_options opts;
  opts.max_reconnect = 2;
  opts.reconnect_wait = std::chrono::milliseconds{20};
  auto t = connect_to(srv, "limited", nullptr, opts);
  state_log states;
  states.attach(*t);
  srv.stop();
  REQUIRE(wait_until(5s, [&] { return t->state() == bus::link_state::closed; }));
  auto seen = states.get();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == bus::link_state::reconnecting);
  CHECK(seen[1] == bus::link_state::closed);
  CHECK(code_of(t->publish("after.close", "x")) == bus::errc::not_connected);
  CHECK_FALSE(t->drain(100ms)); // already closed: nothing to do
}

TEST_CASE("drain lets in-flight messages reach their handler, then closes, twice is harmless",
          "[transport][integration]") {
  nats_server srv;
  auto t = connect_to(srv, "drainer");
  state_log states;
  states.attach(*t);
  std::atomic<int> handled{0};
  auto sub = must_subscribe(*t, "work.items", "", [&](bus::message) {
    std::this_thread::sleep_for(3ms); // slow consumer: messages queue up client-side
    ++handled;
  });
  REQUIRE_FALSE(t->flush(2s));
  for (int i = 0; i < 100; ++i)
    REQUIRE_FALSE(t->publish("work.items", std::to_string(i)));
  // The PONG comes after the server delivered every message on this socket.
  REQUIRE_FALSE(t->flush(2s));
  CHECK(handled < 100);
  REQUIRE_FALSE(t->drain(5s));
  CHECK(handled == 100);
  CHECK(t->state() == bus::link_state::closed);
  CHECK(states.get() == std::vector<bus::link_state>{bus::link_state::closed});
  CHECK_FALSE(t->drain(1s));
  CHECK(code_of(t->publish("work.items", "late")) == bus::errc::not_connected);
  auto refused = t->subscribe("work.more", "", [](bus::message) {});
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == bus::errc::not_connected);
  sub.reset(); // unsubscribing after the close is safe
}

TEST_CASE("destroying a subscription stops delivery, also after the connection is gone",
          "[transport][integration]") {
  nats_server srv;
  auto pub = connect_to(srv, "pub");
  collector got;
  bus::subscription_ptr late;
  {
    auto t = connect_to(srv, "short-lived");
    auto sub = must_subscribe(*t, "stop.here", "", got.handler());
    REQUIRE_FALSE(t->flush(2s));
    REQUIRE_FALSE(pub->publish("stop.here", "1"));
    REQUIRE(got.wait_for(1));
    sub.reset();
    REQUIRE_FALSE(pub->publish("stop.here", "2"));
    REQUIRE_FALSE(pub->flush(2s));
    std::this_thread::sleep_for(100ms);
    CHECK(got.size() == 1);
    late = must_subscribe(*t, "stop.late", "", got.handler());
  } // transport destroyed without drain: closed by its destructor
  late.reset();
  SUCCEED("subscription released after its transport");
}

TEST_CASE("a handler may cancel its own subscription, and a throwing handler is contained",
          "[transport][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  std::atomic<int> calls{0};
  bus::subscription_ptr self_cancel;
  std::mutex mtx;
  {
    std::lock_guard<std::mutex> guard{mtx};
    self_cancel = must_subscribe(*t, "once.only", "", [&](bus::message) {
      ++calls;
      std::lock_guard<std::mutex> inner{mtx};
      self_cancel.reset();
    });
  }
  std::atomic<int> thrown{0};
  auto thrower = must_subscribe(*t, "throws", "", [&](bus::message) {
    ++thrown;
    throw std::runtime_error("handler bug");
  });
  REQUIRE_FALSE(t->flush(2s));
  for (int i = 0; i < 3; ++i) {
    REQUIRE_FALSE(t->publish("once.only", "x"));
    REQUIRE_FALSE(t->publish("throws", "x"));
  }
  REQUIRE_FALSE(t->flush(2s));
  REQUIRE(wait_until(2s, [&] { return thrown == 3; }));
  std::this_thread::sleep_for(50ms);
  CHECK(calls == 1);
  CHECK(t->state() == bus::link_state::connected);
}

TEST_CASE("bad subjects, queue names and handlers are refused without reaching the server",
          "[transport][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  for (std::string bad :
       std::vector<std::string>{"", "a..b", "a.*", "a.>", "sp ace", "x.", std::string("n\0l", 3)}) {
    INFO(bad);
    CHECK(code_of(t->publish(bad, "d")) == bus::errc::invalid_subject);
  }
  CHECK(code_of(t->publish("ok.subject", "d", "bad reply")) == bus::errc::invalid_subject);
  for (std::string bad : std::vector<std::string>{"", "a..b", "a.>.c", "sp ace"}) {
    INFO(bad);
    auto sub = t->subscribe(bad, "", [](bus::message) {});
    REQUIRE_FALSE(sub);
    CHECK(code_of(sub.error()) == bus::errc::invalid_subject);
  }
  auto bad_queue = t->subscribe("a.b", "two words", [](bus::message) {});
  REQUIRE_FALSE(bad_queue);
  CHECK(code_of(bad_queue.error()) == bus::errc::invalid_subject);
  auto no_handler = t->subscribe("a.b", "", bus::message_handler{});
  REQUIRE_FALSE(no_handler);
  CHECK(code_of(no_handler.error()) == bus::errc::invalid_subject);
  // the connection is unharmed
  CHECK(t->state() == bus::link_state::connected);
  REQUIRE_FALSE(t->flush(2s));
}

TEST_CASE("destroying a transport closes it without calling state handlers back",
          "[transport][integration]") {
  nats_server srv;
  auto calls = std::make_shared<std::atomic<int>>(0);
  {
    auto t = connect_to(srv, "dropped");
    t->on_state_change([calls](bus::link_state) { ++*calls; });
  }
  std::this_thread::sleep_for(50ms);
  CHECK(*calls == 0);
  // the server saw the client go: a new one connects normally
  auto again = connect_to(srv, "again");
  CHECK(again->state() == bus::link_state::connected);
}
