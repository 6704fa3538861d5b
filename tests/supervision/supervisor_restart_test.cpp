#include <catch2/catch.hpp>

#include "test_actors.hpp"

using namespace troupe;
using namespace troupe::supervision;
using namespace troupe::supervision::test;

namespace {

/// A supervisor over the given children, monitored by `self` and shut down
/// at the end of the test (the actor system waits for every actor).
struct fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::vector<supervisor_actor> started;

  supervisor_actor start(restart_policy policy, std::vector<child_spec> children) {
    auto sup = make_supervisor(sys, "sup", policy, std::move(children));
    self->monitor(sup);
    started.push_back(sup);
    return sup;
  }

  ~fixture() {
    for (auto& sup : started)
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  }
};

caf::actor require_child(fixture& f, const supervisor_actor& sup, const std::string& name) {
  caf::actor hdl;
  REQUIRE(eventually([&] {
    auto q = query(f.self, sup, name);
    if (q)
      hdl = *q;
    return static_cast<bool>(q);
  }));
  return hdl;
}

} // namespace

TEST_CASE("a crashing child is restarted and answers again with a new handle") {
  fixture f;
  auto log = std::make_shared<start_log>();
  auto sup = f.start(fast_policy(), {worker_spec("w", log)});
  auto first = require_child(f, sup, "w");
  REQUIRE(ping(f.self, first) == 1);
  f.self->send(first, crash_atom::value);
  REQUIRE(eventually([&] { return log->count() == 2; }));
  auto second = require_child(f, sup, "w");
  CHECK(second != first);
  CHECK(ping(f.self, second) == 2);
  CHECK_FALSE(ping(f.self, first)); // the old handle is dead
  auto lines = info(f.self, sup);
  REQUIRE(lines);
  REQUIRE(lines->size() == 1);
  CHECK(lines->at(0).restarts == 1);
  CHECK(lines->at(0).running);
}

TEST_CASE("an exception thrown in a child is a crash that gets restarted, not a process abort") {
  fixture f;
  auto log = std::make_shared<start_log>();
  auto sup = f.start(fast_policy(), {worker_spec("w", log)});
  auto first = require_child(f, sup, "w");
  caf::error failure;
  f.self->request(first, 1s, throw_atom::value)
    .receive([](int) {}, [&](caf::error& err) { failure = err; });
  CHECK(failure); // the caller learns the request failed
  REQUIRE(eventually([&] { return log->count() == 2; }));
  auto second = require_child(f, sup, "w");
  CHECK(second != first);
  CHECK(ping(f.self, second) == 2);
}

TEST_CASE("backoff delays between consecutive restarts grow") {
  fixture f;
  auto log = std::make_shared<start_log>();
  auto policy = fast_policy(10);
  policy.backoff_initial = 40ms;
  policy.backoff_max = 2s;
  // Generations 1-4 crash while starting; generation 5 stays up.
  auto sup = f.start(policy, {worker_spec("w", log, 4)});
  REQUIRE(eventually([&] { return log->count() == 5; }, 3000ms));
  auto times = log->times();
  auto gap = [&](size_t i) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(times[i] - times[i - 1]);
  };
  // Expected about 40, 80, 160, 320 ms; bounds are generous for a busy machine.
  CHECK(gap(1) >= 35ms);
  CHECK(gap(2) >= 75ms);
  CHECK(gap(3) >= 150ms);
  CHECK(gap(4) >= 300ms);
  CHECK(gap(4) < 1500ms);
  CHECK(gap(2) > gap(1));
  CHECK(gap(3) > gap(2));
  CHECK(gap(4) > gap(3));
  auto w = require_child(f, sup, "w");
  CHECK(ping(f.self, w) == 5);
}

TEST_CASE("a child that exits normally is not restarted") {
  fixture f;
  auto log = std::make_shared<start_log>();
  auto sup = f.start(fast_policy(), {worker_spec("w", log)});
  auto w = require_child(f, sup, "w");
  f.self->send(w, finish_atom::value);
  REQUIRE(eventually([&] {
    auto lines = info(f.self, sup);
    return lines && lines->size() == 1 && !lines->at(0).running;
  }));
  std::this_thread::sleep_for(150ms); // well past any backoff
  CHECK(log->count() == 1);
  auto q = query(f.self, sup, "w");
  REQUIRE_FALSE(q);
  CHECK(q.error() == caf::sec::request_receiver_down);
  auto lines = info(f.self, sup);
  REQUIRE(lines);
  CHECK(lines->at(0).restarts == 0);
}

TEST_CASE("a child ended with user_shutdown is not restarted") {
  fixture f;
  auto log = std::make_shared<start_log>();
  auto sup = f.start(fast_policy(), {worker_spec("w", log)});
  auto w = require_child(f, sup, "w");
  f.self->send_exit(w, caf::exit_reason::user_shutdown);
  REQUIRE(eventually([&] { return !query(f.self, sup, "w"); }));
  std::this_thread::sleep_for(150ms);
  CHECK(log->count() == 1);
}

TEST_CASE("while a child waits out its backoff, queries fail and info shows it not running") {
  fixture f;
  auto log = std::make_shared<start_log>();
  auto policy = fast_policy();
  policy.backoff_initial = 400ms;
  policy.backoff_max = 400ms;
  auto sup = f.start(policy, {worker_spec("w", log)});
  auto w = require_child(f, sup, "w");
  f.self->send(w, crash_atom::value);
  REQUIRE(eventually([&] { return !query(f.self, sup, "w"); }));
  auto q = query(f.self, sup, "w");
  REQUIRE_FALSE(q);
  CHECK(q.error() == caf::sec::request_receiver_down);
  auto lines = info(f.self, sup);
  REQUIRE(lines);
  CHECK_FALSE(lines->at(0).running);
  CHECK(lines->at(0).restarts == 1);
  CHECK(lines->at(0).mailbox_size == 0);
  CHECK(log->count() == 1);
  // After the backoff it is back.
  auto again = require_child(f, sup, "w");
  CHECK(ping(f.self, again) == 2);
}

TEST_CASE("a query for a child the supervisor does not have is an unknown_child error") {
  fixture f;
  auto log = std::make_shared<start_log>();
  auto sup = f.start(fast_policy(), {worker_spec("w", log)});
  auto q = query(f.self, sup, "nobody");
  REQUIRE_FALSE(q);
  CHECK(is(q.error(), errc::unknown_child));
  q = query(f.self, sup, "");
  REQUIRE_FALSE(q);
  CHECK(is(q.error(), errc::unknown_child));
}

TEST_CASE("a start function that throws counts as a crash and is retried") {
  fixture f;
  auto attempts = std::make_shared<std::atomic<int>>(0);
  auto log = std::make_shared<start_log>();
  child_spec flaky{"flaky", [attempts, log](caf::local_actor& parent) -> caf::actor {
                     if (++*attempts <= 2)
                       throw std::runtime_error("dependency not ready");
                     return parent.spawn(worker, log, 0);
                   }};
  auto sup = f.start(fast_policy(), {flaky});
  auto w = require_child(f, sup, "flaky");
  CHECK(*attempts == 3);
  CHECK(ping(f.self, w) == 1);
  auto lines = info(f.self, sup);
  REQUIRE(lines);
  CHECK(lines->at(0).restarts == 2);
}

TEST_CASE("a start function that always fails exhausts the budget instead of crashing the "
          "process") {
  fixture f;
  auto policy = fast_policy(2);
  std::vector<child_spec> children;
  SECTION("it throws") {
    children.push_back({"bad", [](caf::local_actor&) -> caf::actor {
                          throw std::logic_error("broken");
                        }});
  }
  SECTION("it throws something that is not an exception") {
    children.push_back({"bad", [](caf::local_actor&) -> caf::actor { throw 42; }});
  }
  SECTION("it returns no actor") {
    children.push_back({"bad", [](caf::local_actor&) { return caf::actor{}; }});
  }
  SECTION("it is missing") {
    children.push_back({"bad", {}});
  }
  f.start(policy, std::move(children));
  auto reason = await_down(f.self);
  CHECK(is(reason, errc::restart_budget_exceeded));
  CHECK(describe(reason).find("start_failed") != std::string::npos);
}

TEST_CASE("a supervisor with an empty or duplicate child name refuses to start") {
  fixture f;
  auto log = std::make_shared<start_log>();
  std::vector<child_spec> children;
  SECTION("duplicate") {
    children = {worker_spec("w", log), worker_spec("w", log)};
  }
  SECTION("empty") {
    children = {worker_spec("", log)};
  }
  f.start(fast_policy(), std::move(children));
  CHECK(is(await_down(f.self), errc::invalid_child_spec));
  CHECK(log->count() == 0); // nothing was started
}

TEST_CASE("a supervisor without children answers with an empty table and stops at once") {
  fixture f;
  auto sup = f.start(fast_policy(), {});
  auto lines = info(f.self, sup);
  REQUIRE(lines);
  CHECK(lines->empty());
  f.self->send(sup, stop_atom::value);
  CHECK(await_down(f.self) == caf::error{});
}
