#pragma once
/// Small real actors and helpers for the supervisor tests: a worker that can
/// be told to crash, throw or finish, a record of every (re)start, and
/// blocking helpers that ask a supervisor through a scoped_actor.
#include <caf/all.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/supervision/supervisor.hpp"

namespace troupe::supervision::test {

using namespace std::chrono_literals;

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using throw_atom = caf::atom_constant<caf::atom("throw")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using busy_atom = caf::atom_constant<caf::atom("busy")>;

/// Two scheduler threads, as on the production VMs.
struct test_config : caf::actor_system_config {
  test_config() {
    set("scheduler.max-threads", 2);
  }
};

/// Every start of one child, across restarts, with its time.
class start_log {
public:
  using clock = std::chrono::steady_clock;

  /// Records a start and returns its 1-based generation.
  int record() {
    std::lock_guard<std::mutex> guard{mtx_};
    starts_.push_back(clock::now());
    return static_cast<int>(starts_.size());
  }

  int count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<int>(starts_.size());
  }

  std::vector<clock::time_point> times() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return starts_;
  }

private:
  mutable std::mutex mtx_;
  std::vector<clock::time_point> starts_;
};

/// Answers ping with its generation; its first `crash_first` generations
/// crash while starting (as a child whose dependency is down would).
inline caf::behavior worker(caf::event_based_actor* self, std::shared_ptr<start_log> log,
                            int crash_first) {
  int generation = log->record();
  if (generation <= crash_first) {
    self->quit(caf::make_error(caf::sec::runtime_error, "crash at start"));
    return {};
  }
  return {
    [=](ping_atom) { return generation; },
    [=](crash_atom) { self->quit(caf::make_error(caf::sec::runtime_error, "told to crash")); },
    [=](throw_atom) -> int { throw std::runtime_error("thrown by the worker"); },
    [=](finish_atom) { self->quit(); },
    // Occupies its (detached) thread, so that a backlog can build up.
    [=](busy_atom, int ms) { std::this_thread::sleep_for(std::chrono::milliseconds{ms}); },
  };
}

/// A worker that ignores shutdown requests: only `kill` ends it.
inline caf::behavior stubborn(caf::event_based_actor* self, std::shared_ptr<start_log> log) {
  log->record();
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[](ping_atom) { return 0; }};
}

inline child_spec worker_spec(std::string name, std::shared_ptr<start_log> log,
                              int crash_first = 0) {
  return {std::move(name), [log, crash_first](caf::local_actor& parent) {
            return parent.spawn(worker, log, crash_first);
          }};
}

inline child_spec detached_worker_spec(std::string name, std::shared_ptr<start_log> log) {
  return {std::move(name), [log](caf::local_actor& parent) {
            return parent.spawn<caf::detached>(worker, log, 0);
          }};
}

inline child_spec stubborn_spec(std::string name, std::shared_ptr<start_log> log) {
  return {std::move(name),
          [log](caf::local_actor& parent) { return parent.spawn(stubborn, log); }};
}

/// A policy with small times so tests stay quick.
inline restart_policy fast_policy(uint32_t max_restarts = 5) {
  restart_policy p;
  p.max_restarts = max_restarts;
  p.window = 2s;
  p.backoff_initial = 20ms;
  p.backoff_max = 200ms;
  p.stable_after = 1s;
  p.stop_timeout = 300ms;
  return p;
}

/// Polls `pred` until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 2000ms) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

inline caf::expected<caf::actor> query(caf::scoped_actor& self, const supervisor_actor& sup,
                                       const std::string& child) {
  caf::expected<caf::actor> out{caf::sec::request_timeout};
  self->request(sup, 1s, query_atom::value, child)
    .receive([&](caf::actor& hdl) { out = std::move(hdl); },
             [&](caf::error& err) { out = std::move(err); });
  return out;
}

inline caf::expected<std::vector<child_info>> info(caf::scoped_actor& self,
                                                   const supervisor_actor& sup) {
  caf::expected<std::vector<child_info>> out{caf::sec::request_timeout};
  self->request(sup, 2s, info_atom::value)
    .receive([&](std::vector<child_info>& lines) { out = std::move(lines); },
             [&](caf::error& err) { out = std::move(err); });
  return out;
}

inline caf::expected<int> ping(caf::scoped_actor& self, const caf::actor& hdl) {
  caf::expected<int> out{caf::sec::request_timeout};
  self->request(hdl, 1s, ping_atom::value)
    .receive([&](int generation) { out = generation; }, [&](caf::error& err) { out = err; });
  return out;
}

/// The line for `supervisor`/`name`, or nullptr.
inline const child_info* line_of(const std::vector<child_info>& lines,
                                 const std::string& supervisor, const std::string& name) {
  for (const auto& l : lines)
    if (l.supervisor == supervisor && l.name == name)
      return &l;
  return nullptr;
}

/// Waits for the down_msg of the actor `self` monitors; sec::request_timeout if none came.
inline caf::error await_down(caf::scoped_actor& self, std::chrono::milliseconds timeout = 2000ms) {
  caf::error reason = caf::sec::request_timeout;
  self->receive([&](caf::down_msg& dm) { reason = dm.reason; },
                caf::after(timeout) >> [] {});
  return reason;
}

} // namespace troupe::supervision::test
