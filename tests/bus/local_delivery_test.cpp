#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "bus/fake_transport.hpp"
#include "bus/local_delivery.hpp"

using namespace troupe::bus;

namespace {

struct fixture {
  std::shared_ptr<fake_transport> inner = std::make_shared<fake_transport>();
  local_delivery local{inner, {"troupe.c.node.n1."}};
  std::vector<std::string> got; // "subject|reply|data"

  message_handler recorder() {
    return [this](message m) {
      got.push_back(std::string{m.subject} + "|" + std::string{m.reply} + "|"
                    + std::string{m.data});
    };
  }
};

} // namespace

TEST_CASE("a queue-group service of this process takes its requests without the server",
          "[local_delivery]") {
  fixture f;
  auto sub = f.local.subscribe("troupe.c.svc.inference", "inference", f.recorder());
  REQUIRE(sub);
  REQUIRE_FALSE(f.local.publish("troupe.c.svc.inference", "bytes", "_INBOX.x.1"));
  CHECK(f.got == std::vector<std::string>{"troupe.c.svc.inference|_INBOX.x.1|bytes"});
  CHECK(f.local.delivered_locally() == 1);
  CHECK(f.inner->published().empty());
}

TEST_CASE("the node's direct subjects and its reply inboxes are delivered here",
          "[local_delivery]") {
  fixture f;
  auto direct = f.local.subscribe("troupe.c.node.n1.session.*", "", f.recorder());
  auto inbox = f.local.subscribe("_INBOX.abc.*", "", f.recorder());
  REQUIRE((direct && inbox));
  REQUIRE_FALSE(f.local.publish("troupe.c.node.n1.session.s1", "a"));
  REQUIRE_FALSE(f.local.publish("_INBOX.abc.7", "b"));
  CHECK(f.got.size() == 2);
  CHECK(f.local.delivered_locally() == 2);
  CHECK(f.inner->published().empty());
}

TEST_CASE("subjects anyone may listen to, and other nodes' subjects, go through the server",
          "[local_delivery]") {
  fixture f;
  auto events = f.local.subscribe("troupe.c.events.>", "", f.recorder());
  auto other = f.local.subscribe("troupe.c.node.n2.session.*", "", f.recorder());
  REQUIRE((events && other));
  REQUIRE_FALSE(f.local.publish("troupe.c.events.t.s.u.turn_started", "e"));
  REQUIRE_FALSE(f.local.publish("troupe.c.node.n2.session.s1", "x"));
  REQUIRE_FALSE(f.local.publish("troupe.c.svc.nobody_here", "y"));
  CHECK(f.local.delivered_locally() == 0);
  CHECK(f.inner->published().size() == 3);
  // The server (here the fake) still delivers to the subscribers.
  CHECK(f.got.size() == 2);
}

TEST_CASE("a publish from inside a handler goes through the server", "[local_delivery]") {
  fixture f;
  auto svc = f.local.subscribe("troupe.c.svc.a", "a", [&](message) {
    REQUIRE_FALSE(f.local.publish("troupe.c.svc.b", "from a"));
  });
  auto b = f.local.subscribe("troupe.c.svc.b", "b", f.recorder());
  REQUIRE((svc && b));
  REQUIRE_FALSE(f.local.publish("troupe.c.svc.a", "go"));
  CHECK(f.local.delivered_locally() == 1);
  REQUIRE(f.inner->published().size() == 1);
  CHECK(f.inner->published()[0].subject == "troupe.c.svc.b");
  CHECK(f.got == std::vector<std::string>{"troupe.c.svc.b||from a"});
}

TEST_CASE("after unsubscribing, publishes go through the server again", "[local_delivery]") {
  fixture f;
  {
    auto sub = f.local.subscribe("troupe.c.svc.a", "a", f.recorder());
    REQUIRE(sub);
  }
  REQUIRE_FALSE(f.local.publish("troupe.c.svc.a", "x"));
  CHECK(f.local.delivered_locally() == 0);
  CHECK(f.inner->published().size() == 1);
}

TEST_CASE("one subscription's handler never runs on two threads at once", "[local_delivery]") {
  fixture f;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::atomic<int> calls{0};
  auto sub = f.local.subscribe("troupe.c.svc.a", "a", [&](message) {
    if (inside.fetch_add(1) != 0)
      overlapped = true;
    std::this_thread::yield();
    inside.fetch_sub(1);
    ++calls;
  });
  REQUIRE(sub);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        (void) f.local.publish("troupe.c.svc.a", "x");
    });
  for (auto& t : threads)
    t.join();
  CHECK(calls == 8000);
  CHECK_FALSE(overlapped);
}

TEST_CASE("a message handed over locally outlives the publisher's buffer", "[local_delivery]") {
  fixture f;
  message kept;
  auto sub = f.local.subscribe("troupe.c.svc.a", "a", [&](message m) { kept = std::move(m); });
  REQUIRE(sub);
  {
    std::string data = "payload that goes away";
    REQUIRE_FALSE(f.local.publish("troupe.c.svc.a", data, "_INBOX.r.1"));
    data.assign(data.size(), '#');
  }
  CHECK(kept.data == "payload that goes away");
  CHECK(kept.reply == "_INBOX.r.1");
  CHECK(kept.subject == "troupe.c.svc.a");
}
