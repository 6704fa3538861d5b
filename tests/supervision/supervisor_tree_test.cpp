#include <catch2/catch.hpp>

#include <map>

#include "test_actors.hpp"

using namespace troupe;
using namespace troupe::supervision;
using namespace troupe::supervision::test;

namespace {

struct tree_fixture {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  supervisor_actor root;

  void start(restart_policy policy, std::vector<child_spec> children) {
    root = make_supervisor(sys, "root", policy, std::move(children));
  }

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

  ~tree_fixture() {
    if (root)
      caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
  }
};

/// Collects down_msgs until `count` arrived or `timeout` passed.
std::map<caf::actor_addr, caf::error> collect_downs(caf::scoped_actor& self, size_t count,
                                                    std::chrono::milliseconds timeout = 2000ms) {
  std::map<caf::actor_addr, caf::error> out;
  auto until = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (out.size() < count && !timed_out) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    self->receive([&](caf::down_msg& dm) { out[dm.source] = dm.reason; },
                  caf::after(std::max(left, 1ms)) >> [&] { timed_out = true; });
  }
  return out;
}

} // namespace

TEST_CASE("a role supervisor over budget fails with restart_budget_exceeded and the root "
          "restarts it") {
  tree_fixture f;
  auto w_log = std::make_shared<start_log>();
  auto sib_log = std::make_shared<start_log>();
  auto role_policy = fast_policy(2);
  role_policy.backoff_initial = 50ms;
  // Generations 1-3 of "w" crash while starting: two restarts, then the
  // third crash is one too many for the role supervisor.
  f.start(fast_policy(5), {supervisor_child("role", role_policy,
                                            {worker_spec("w", w_log, 3), worker_spec("sib", sib_log)})});
  auto role = f.child(f.root, "role");
  REQUIRE(role);
  auto sib = f.child(caf::actor_cast<supervisor_actor>(role), "sib");
  REQUIRE(sib);
  f.self->monitor(role);
  f.self->monitor(sib);
  auto downs = collect_downs(f.self, 2);
  REQUIRE(downs.size() == 2);
  CHECK(is(downs[role.address()], errc::restart_budget_exceeded));
  CHECK(describe(downs[role.address()]).find("'w'") != std::string::npos);
  // The sibling was stopped, not left running under a dead supervisor.
  CHECK(downs[sib.address()] == caf::exit_reason::user_shutdown);
  // The root applied its own policy: a new role supervisor with fresh children.
  REQUIRE(eventually([&] { return w_log->count() == 4 && sib_log->count() == 2; }));
  auto role2 = f.child(f.root, "role");
  REQUIRE(role2);
  CHECK(role2 != role);
  auto w = f.child(caf::actor_cast<supervisor_actor>(role2), "w");
  REQUIRE(w);
  CHECK(ping(f.self, w) == 4);
  auto lines = info(f.self, f.root);
  REQUIRE(lines);
  auto* role_line = line_of(*lines, "root", "role");
  REQUIRE(role_line);
  CHECK(role_line->restarts == 1);
  CHECK(role_line->running);
  auto* w_line = line_of(*lines, "role", "w");
  REQUIRE(w_line);
  CHECK(w_line->restarts == 0); // counted by the new role supervisor instance
  CHECK(w_line->running);
}

TEST_CASE("a root over budget ends with restart_budget_exceeded for whoever monitors it") {
  tree_fixture f;
  auto log = std::make_shared<start_log>();
  // "w" never comes up: the role escalates after 2 crashes, the root restarts
  // the role once, the role escalates again, and the root gives up.
  f.start(fast_policy(1),
          {supervisor_child("role", fast_policy(1), {worker_spec("w", log, 1000)})});
  f.self->monitor(f.root);
  auto reason = await_down(f.self, 3000ms);
  CHECK(is(reason, errc::restart_budget_exceeded));
  CHECK(describe(reason).find("'role'") != std::string::npos);
  CHECK(log->count() == 4);
  f.root = nullptr;
}

TEST_CASE("stop_atom stops the whole tree cleanly and nothing is restarted") {
  tree_fixture f;
  auto a_log = std::make_shared<start_log>();
  auto b_log = std::make_shared<start_log>();
  auto c_log = std::make_shared<start_log>();
  f.start(fast_policy(),
          {supervisor_child("role", fast_policy(), {worker_spec("a", a_log), worker_spec("b", b_log)}),
           worker_spec("c", c_log)});
  auto role = caf::actor_cast<supervisor_actor>(f.child(f.root, "role"));
  auto a = f.child(role, "a");
  auto b = f.child(role, "b");
  auto c = f.child(f.root, "c");
  REQUIRE((role && a && b && c));
  for (const auto& hdl : {caf::actor_cast<caf::actor>(f.root), caf::actor_cast<caf::actor>(role), a,
                          b, c})
    f.self->monitor(hdl);
  f.self->send(f.root, stop_atom::value);
  auto downs = collect_downs(f.self, 5);
  REQUIRE(downs.size() == 5);
  CHECK(downs[f.root.address()] == caf::error{});
  CHECK(downs[role.address()] == caf::error{});
  CHECK(downs[a.address()] == caf::exit_reason::user_shutdown);
  CHECK(downs[b.address()] == caf::exit_reason::user_shutdown);
  CHECK(downs[c.address()] == caf::exit_reason::user_shutdown);
  std::this_thread::sleep_for(100ms); // longer than any backoff
  CHECK(a_log->count() == 1);
  CHECK(b_log->count() == 1);
  CHECK(c_log->count() == 1);
  f.root = nullptr;
}

TEST_CASE("a stop request while a child waits out its backoff cancels the restart") {
  tree_fixture f;
  auto log = std::make_shared<start_log>();
  auto policy = fast_policy();
  policy.backoff_initial = 200ms;
  f.start(policy, {worker_spec("w", log)});
  auto w = f.child(f.root, "w");
  REQUIRE(w);
  f.self->send(w, crash_atom::value);
  REQUIRE(eventually([&] { return !query(f.self, f.root, "w"); }));
  f.self->monitor(f.root);
  f.self->send(f.root, stop_atom::value);
  CHECK(await_down(f.self) == caf::error{});
  std::this_thread::sleep_for(300ms);
  CHECK(log->count() == 1);
  f.root = nullptr;
}

TEST_CASE("a child that ignores the stop request is killed after the stop timeout") {
  tree_fixture f;
  auto log = std::make_shared<start_log>();
  auto policy = fast_policy();
  policy.stop_timeout = 150ms;
  f.start(policy, {stubborn_spec("stubborn", log)});
  auto s = f.child(f.root, "stubborn");
  REQUIRE(s);
  f.self->monitor(f.root);
  f.self->monitor(s);
  auto began = std::chrono::steady_clock::now();
  f.self->send(f.root, stop_atom::value);
  auto downs = collect_downs(f.self, 2);
  REQUIRE(downs.size() == 2);
  CHECK(std::chrono::steady_clock::now() - began >= 140ms);
  CHECK(downs[f.root.address()] == caf::error{});
  CHECK(downs[s.address()] == caf::exit_reason::kill);
  f.root = nullptr;
}

TEST_CASE("an exit request to the root stops every child with it") {
  tree_fixture f;
  auto a_log = std::make_shared<start_log>();
  auto c_log = std::make_shared<start_log>();
  f.start(fast_policy(),
          {supervisor_child("role", fast_policy(), {worker_spec("a", a_log)}), worker_spec("c", c_log)});
  auto role = caf::actor_cast<supervisor_actor>(f.child(f.root, "role"));
  auto a = f.child(role, "a");
  auto c = f.child(f.root, "c");
  REQUIRE((role && a && c));
  f.self->monitor(f.root);
  f.self->monitor(a);
  f.self->monitor(c);
  f.self->send_exit(f.root, caf::exit_reason::user_shutdown);
  auto downs = collect_downs(f.self, 3);
  REQUIRE(downs.size() == 3);
  CHECK(downs[f.root.address()] == caf::exit_reason::user_shutdown);
  CHECK(downs[a.address()] == caf::exit_reason::user_shutdown);
  CHECK(downs[c.address()] == caf::exit_reason::user_shutdown);
  f.root = nullptr;
}

TEST_CASE("killing the root takes its linked children down with it") {
  tree_fixture f;
  auto log = std::make_shared<start_log>();
  f.start(fast_policy(), {supervisor_child("role", fast_policy(), {worker_spec("a", log)})});
  auto role = caf::actor_cast<supervisor_actor>(f.child(f.root, "role"));
  auto a = f.child(role, "a");
  REQUIRE((role && a));
  f.self->monitor(a);
  f.self->send_exit(f.root, caf::exit_reason::kill);
  CHECK(await_down(f.self) != caf::sec::request_timeout);
  std::this_thread::sleep_for(50ms);
  CHECK(log->count() == 1);
  f.root = nullptr;
}

TEST_CASE("a linked peer that ends normally does not stop a supervisor") {
  tree_fixture f;
  auto log = std::make_shared<start_log>();
  f.start(fast_policy(), {worker_spec("w", log)});
  auto peer = f.sys.spawn([root = caf::actor_cast<caf::actor>(f.root)](caf::event_based_actor* self) {
    self->link_to(root);
    self->quit(); // the link delivers exit_msg{normal} to the root
  });
  f.self->monitor(peer);
  REQUIRE(await_down(f.self) == caf::error{});
  // The same thing sent explicitly.
  caf::anon_send_exit(f.root, caf::exit_reason::normal);
  std::this_thread::sleep_for(50ms);
  auto w = query(f.self, f.root, "w");
  REQUIRE(w);
  CHECK(ping(f.self, *w) == 1);
}
