#include <catch2/catch.hpp>

#include "common/metrics.hpp"
#include "test_actors.hpp"

using namespace troupe;
using namespace troupe::supervision;
using namespace troupe::supervision::test;

namespace {

struct info_fixture {
  // First member: supervisors update their gauges while they end, which can
  // be after the test saw them stop, so the registry must outlive the system.
  metrics::registry_ptr registry = metrics::make_registry();
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  supervisor_actor root;

  caf::actor child(const supervisor_actor& sup, const std::string& name) {
    caf::actor hdl;
    eventually([&] {
      auto q = query(self, sup, name);
      if (q)
        hdl = *q;
      return static_cast<bool>(q);
    });
    return hdl;
  }

  ~info_fixture() {
    if (root)
      caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  }
};

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("info reports restarts and running flags of the whole tree, in child order") {
  info_fixture f;
  auto a_log = std::make_shared<start_log>();
  auto b_log = std::make_shared<start_log>();
  auto c_log = std::make_shared<start_log>();
  f.root = make_supervisor(
    f.sys, "root", fast_policy(),
    {supervisor_child("role", fast_policy(), {worker_spec("a", a_log), worker_spec("b", b_log)}),
     worker_spec("c", c_log)});
  auto role = caf::actor_cast<supervisor_actor>(f.child(f.root, "role"));
  auto a = f.child(role, "a");
  auto b = f.child(role, "b");
  REQUIRE((role && a && b));
  f.self->send(a, crash_atom::value);  // restarted: restarts 1
  f.self->send(b, finish_atom::value); // clean exit: stays down
  REQUIRE(eventually([&] { return a_log->count() == 2; }));
  std::vector<child_info> lines;
  REQUIRE(eventually([&] {
    auto got = info(f.self, f.root);
    if (!got)
      return false;
    lines = *got;
    return lines.size() == 4 && lines[1].running && !lines[2].running;
  }));
  CHECK(lines[0].supervisor == "root");
  CHECK(lines[0].name == "role");
  CHECK(lines[0].running);
  CHECK(lines[0].restarts == 0);
  CHECK(lines[1].supervisor == "role");
  CHECK(lines[1].name == "a");
  CHECK(lines[1].restarts == 1);
  CHECK(lines[2].supervisor == "role");
  CHECK(lines[2].name == "b");
  CHECK(lines[2].restarts == 0);
  CHECK(lines[2].mailbox_size == 0);
  CHECK(lines[3].supervisor == "root");
  CHECK(lines[3].name == "c");
  CHECK(lines[3].running);
  // A nested supervisor answers for its own subtree only.
  auto sub = info(f.self, role);
  REQUIRE(sub);
  REQUIRE(sub->size() == 2);
  CHECK((*sub)[0].name == "a");
  CHECK((*sub)[1].name == "b");
}

TEST_CASE("info shows a nested supervisor as not running while it waits to be restarted") {
  info_fixture f;
  auto log = std::make_shared<start_log>();
  auto root_policy = fast_policy();
  root_policy.backoff_initial = 400ms;
  root_policy.backoff_max = 400ms;
  f.root = make_supervisor(f.sys, "root", root_policy,
                           {supervisor_child("role", fast_policy(0), {worker_spec("w", log)})});
  auto role = caf::actor_cast<supervisor_actor>(f.child(f.root, "role"));
  auto w = f.child(role, "w");
  REQUIRE(w);
  f.self->send(w, crash_atom::value); // budget 0: the role escalates at once
  std::vector<child_info> lines;
  REQUIRE(eventually([&] {
    auto got = info(f.self, f.root);
    if (got)
      lines = *got;
    return got && lines.size() == 1 && !lines[0].running;
  }));
  CHECK(lines[0].name == "role");
  CHECK(lines[0].restarts == 1);
  // Back after the backoff, with its child.
  REQUIRE(eventually([&] {
    auto got = info(f.self, f.root);
    return got && got->size() == 2 && (*got)[1].running;
  }));
}

TEST_CASE("info reports the mailbox backlog of a busy child") {
  info_fixture f;
  auto log = std::make_shared<start_log>();
  f.root = make_supervisor(f.sys, "root", fast_policy(), {detached_worker_spec("busy", log)});
  auto busy = f.child(f.root, "busy");
  REQUIRE(busy);
  for (int i = 0; i < 10; ++i)
    f.self->send(busy, busy_atom::value, 40);
  size_t peak = 0;
  CHECK(eventually([&] {
    auto lines = info(f.self, f.root);
    if (lines && !lines->empty())
      peak = std::max(peak, lines->at(0).mailbox_size);
    return peak >= 3;
  }));
  CHECK(eventually([&] {
    auto lines = info(f.self, f.root);
    return lines && !lines->empty() && lines->at(0).mailbox_size == 0;
  }));
}

TEST_CASE("restarts and running state are exported as Prometheus metrics") {
  info_fixture f;
  auto& registry = f.registry;
  auto log = std::make_shared<start_log>();
  f.root = make_supervisor(
    f.sys, "root", fast_policy(),
    {supervisor_child("role", fast_policy(), {worker_spec("w", log)}, registry.get())},
    registry.get());
  auto role = caf::actor_cast<supervisor_actor>(f.child(f.root, "role"));
  auto w = f.child(role, "w");
  REQUIRE(w);
  f.self->send(w, crash_atom::value);
  REQUIRE(eventually([&] { return log->count() == 2; }));
  REQUIRE(eventually([&] { return static_cast<bool>(query(f.self, role, "w")); }));
  auto text = metrics::render(*registry);
  CHECK(contains(text, R"(troupe_actor_restarts_total{child="w",supervisor="role"} 1)"));
  CHECK(contains(text, R"(troupe_actor_running{child="w",supervisor="role"} 1)"));
  CHECK(contains(text, R"(troupe_actor_running{child="role",supervisor="root"} 1)"));
  // After a stop, nothing is reported as running.
  f.self->monitor(f.root);
  f.self->send(f.root, stop_atom::value);
  REQUIRE(await_down(f.self) == caf::error{});
  REQUIRE(eventually([&] {
    auto t = metrics::render(*registry);
    return contains(t, R"(troupe_actor_running{child="w",supervisor="role"} 0)")
           && contains(t, R"(troupe_actor_running{child="role",supervisor="root"} 0)");
  }));
  f.root = nullptr;
}

TEST_CASE("a registry that already uses the metric names with another type does not stop "
          "supervision") {
  info_fixture f;
  auto& registry = f.registry;
  prometheus::BuildGauge().Name("troupe_actor_restarts_total").Register(*registry);
  auto log = std::make_shared<start_log>();
  f.root = make_supervisor(f.sys, "root", fast_policy(), {worker_spec("w", log)}, registry.get());
  auto w = f.child(f.root, "w");
  REQUIRE(w);
  f.self->send(w, crash_atom::value);
  REQUIRE(eventually([&] { return log->count() == 2; }));
  auto again = f.child(f.root, "w");
  REQUIRE(again);
  CHECK(ping(f.self, again) == 2);
}
