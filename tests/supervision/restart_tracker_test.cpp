#include <catch2/catch.hpp>

#include <limits>

#include "actors/supervision/restart_policy.hpp"

using namespace troupe::supervision;
using namespace std::chrono_literals;

namespace {

using tp = restart_tracker::time_point;

const tp t0 = tp{} + 1000h; // far from the epoch, so "before t0" is representable

restart_policy policy(uint32_t max_restarts = 5) {
  restart_policy p;
  p.max_restarts = max_restarts;
  p.window = 30s;
  p.backoff_initial = 50ms;
  p.backoff_max = 5s;
  p.stable_after = 10s;
  return p;
}

caf::timespan ms(long long n) {
  return std::chrono::milliseconds{n};
}

} // namespace

TEST_CASE("a default policy matches the documented defaults") {
  restart_policy p;
  CHECK(p.max_restarts == 5);
  CHECK(p.window == caf::timespan{30s});
  CHECK(p.backoff_initial == caf::timespan{50ms});
  CHECK(p.backoff_max == caf::timespan{5s});
  CHECK(p.stable_after == caf::timespan{10s});
  CHECK(p.stop_timeout == caf::timespan{5s});
}

TEST_CASE("the first crash after a short run is restarted after the initial backoff") {
  restart_tracker t{policy()};
  auto d = t.on_crash(t0, t0 + 100ms);
  CHECK_FALSE(d.escalate);
  CHECK(d.delay == ms(50));
  CHECK(t.restarts() == 1);
}

TEST_CASE("the backoff doubles per consecutive crash and stops at backoff_max") {
  auto p = policy(100);
  p.window = 1s; // crashes 2 s apart never accumulate in the window
  restart_tracker t{p};
  std::vector<long long> seen;
  auto now = t0;
  for (int i = 0; i < 10; ++i) {
    auto started = now;
    now += 2s; // shorter than stable_after: consecutive
    auto d = t.on_crash(started, now);
    REQUIRE_FALSE(d.escalate);
    seen.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d.delay).count());
  }
  CHECK(seen == std::vector<long long>{50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000});
}

TEST_CASE("a child that ran stable_after before crashing starts over at the initial backoff") {
  restart_tracker t{policy(100)};
  auto now = t0;
  for (int i = 0; i < 4; ++i) {
    auto d = t.on_crash(now, now + 10ms);
    now += 10ms;
    REQUIRE_FALSE(d.escalate);
  }
  // Fifth crash after a long, stable run.
  auto d = t.on_crash(now, now + 10s);
  CHECK(d.delay == ms(50));
  // And the doubling resumes from there.
  now += 10s;
  CHECK(t.on_crash(now, now + 1ms).delay == ms(100));
}

TEST_CASE("a run just short of stable_after keeps the doubled backoff") {
  restart_tracker t{policy(100)};
  CHECK(t.on_crash(t0, t0 + 1ms).delay == ms(50));
  CHECK(t.on_crash(t0, t0 + 10s - 1ns).delay == ms(100));
}

TEST_CASE("more than max_restarts crashes inside the window escalate") {
  restart_tracker t{policy(3)};
  auto now = t0;
  for (int i = 0; i < 3; ++i) {
    now += 100ms;
    auto d = t.on_crash(now - 50ms, now);
    CHECK_FALSE(d.escalate);
  }
  now += 100ms;
  auto d = t.on_crash(now - 50ms, now);
  CHECK(d.escalate);
  CHECK(d.delay == caf::timespan{0});
  CHECK(t.restarts() == 3); // the escalation is not a restart
}

TEST_CASE("crashes older than the window no longer count against the budget") {
  auto p = policy(3);
  p.window = 1s;
  restart_tracker t{p};
  CHECK_FALSE(t.on_crash(t0, t0 + 0ms).escalate);
  CHECK_FALSE(t.on_crash(t0, t0 + 400ms).escalate);
  CHECK_FALSE(t.on_crash(t0, t0 + 800ms).escalate);
  // The crash at +0 is exactly one window old at +1000: it has left.
  CHECK_FALSE(t.on_crash(t0, t0 + 1000ms).escalate);
  CHECK(t.crashes_in_window() == 3);
  // +400, +800, +1000 and now +1100: four inside the window.
  CHECK(t.on_crash(t0, t0 + 1100ms).escalate);
}

TEST_CASE("a crash one nanosecond younger than the window still counts") {
  auto p = policy(1);
  p.window = 1s;
  restart_tracker t{p};
  CHECK_FALSE(t.on_crash(t0, t0).escalate);
  CHECK(t.on_crash(t0, t0 + 1s - 1ns).escalate);
}

TEST_CASE("a budget of zero restarts escalates on the first crash") {
  restart_tracker t{policy(0)};
  auto d = t.on_crash(t0, t0 + 1h);
  CHECK(d.escalate);
  CHECK(t.restarts() == 0);
}

TEST_CASE("a steady trickle of crashes slower than the window never escalates") {
  auto p = policy(2);
  p.window = 1s;
  restart_tracker t{p};
  auto now = t0;
  for (int i = 0; i < 1000; ++i) {
    now += 600ms; // at most two crashes inside any 1 s window
    REQUIRE_FALSE(t.on_crash(now - 1ms, now).escalate);
  }
  CHECK(t.restarts() == 1000);
  CHECK(t.crashes_in_window() <= 2);
}

TEST_CASE("repeated escalations keep the remembered history bounded") {
  restart_tracker t{policy(2)};
  for (int i = 0; i < 100; ++i)
    (void) t.on_crash(t0, t0 + std::chrono::milliseconds{i});
  CHECK(t.crashes_in_window() == 3);
}

TEST_CASE("an initial backoff above the maximum is capped at the maximum") {
  auto p = policy();
  p.backoff_initial = 10s;
  p.backoff_max = 1s;
  restart_tracker t{p};
  CHECK(t.on_crash(t0, t0).delay == caf::timespan{1s});
  CHECK(t.on_crash(t0, t0).delay == caf::timespan{1s});
}

TEST_CASE("zero or negative durations in a policy give immediate restarts, never negative "
          "delays") {
  auto p = policy(10);
  p.backoff_initial = -5ms;
  p.backoff_max = -1ms;
  p.stable_after = -1s;
  restart_tracker t{p};
  for (int i = 0; i < 5; ++i) {
    auto d = t.on_crash(t0, t0 + std::chrono::milliseconds{i});
    REQUIRE_FALSE(d.escalate);
    CHECK(d.delay == caf::timespan{0});
  }
}

TEST_CASE("a zero window remembers only the current crash") {
  auto p = policy(1);
  p.window = caf::timespan{0};
  restart_tracker t{p};
  for (int i = 0; i < 10; ++i)
    REQUIRE_FALSE(t.on_crash(t0, t0).escalate);
  CHECK(t.crashes_in_window() == 1);
}

TEST_CASE("a huge backoff_max doubles without overflowing") {
  auto p = policy(std::numeric_limits<uint32_t>::max());
  p.window = caf::timespan{0};
  p.backoff_initial = caf::timespan{1};
  p.backoff_max = caf::timespan::max();
  p.stable_after = caf::timespan::max();
  restart_tracker t{p};
  caf::timespan last{0};
  for (int i = 0; i < 200; ++i) {
    auto d = t.on_crash(t0, t0);
    REQUIRE(d.delay >= last); // never wraps around to a small or negative value
    last = d.delay;
  }
  CHECK(last == caf::timespan::max());
}

TEST_CASE("a crash reported before the child's start counts as a run of zero length") {
  auto p = policy();
  p.stable_after = caf::timespan{1};
  restart_tracker t{p};
  CHECK(t.on_crash(t0, t0 + 1ms).delay == ms(50));
  // now < started: not a stable run, so the backoff keeps doubling.
  CHECK(t.on_crash(t0 + 1h, t0 + 2ms).delay == ms(100));
}
