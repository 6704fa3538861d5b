#include "actors/supervision/supervisor.hpp"

#include <cstring>
#include <exception>
#include <memory>
#include <set>
#include <unordered_set>

#include "actors/supervision/mailbox_probe.hpp"
#include "actors/supervision/restart_metrics.hpp"
#include "common/logging.hpp"

namespace troupe::supervision {

namespace {

/// How long a supervisor waits for a nested supervisor's table. Kept below
/// the second a console caller typically allows, so one slow subtree costs
/// its own lines, not the whole answer.
constexpr auto nested_info_timeout = std::chrono::milliseconds{500};

/// The public interface plus the supervisor's own timers: a restart due after
/// backoff (slot, generation) and the end of an orderly stop's grace period.
using supervisor_impl = supervisor_actor::extend<
  caf::reacts_to<restart_atom, uint64_t, uint64_t>, caf::reacts_to<timeout_atom>>;

struct child_slot {
  child_spec spec;
  restart_tracker tracker;
  caf::actor handle; // null while down
  restart_tracker::time_point started;
  uint64_t generation = 0;
  bool is_supervisor = false;
};

struct supervisor_state {
  std::string supervisor;
  restart_policy policy;
  std::vector<child_slot> children;
  /// Children whose link has not fired yet: their exit_msg is expected and
  /// harmless. Any other exit_msg is a request for this supervisor to end.
  std::set<caf::actor_addr> linked;
  std::shared_ptr<restart_metrics> metrics;
  std::shared_ptr<spdlog::logger> log;
  bool stopping = false;
  static inline const char* name = "troupe.supervisor";
};

using self_ptr = supervisor_impl::stateful_pointer<supervisor_state>;

/// Spawn arguments in one value: CAF 0.17 cannot forward a pointer to an
/// incomplete type (the registry) as a spawn argument on its own.
struct supervisor_args {
  std::string name;
  restart_policy policy;
  std::vector<child_spec> children;
  prometheus::Registry* registry = nullptr;
};

using clock = restart_tracker::clock;

long long millis(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

/// True for actors spawned by this module: their children belong in `info`.
bool is_supervisor(const caf::actor& hdl) {
  auto* la = dynamic_cast<caf::local_actor*>(caf::actor_cast<caf::abstract_actor*>(hdl));
  return la != nullptr && std::strcmp(la->name(), supervisor_state::name) == 0;
}

size_t running_children(const supervisor_state& st) {
  size_t n = 0;
  for (const auto& c : st.children)
    if (c.handle)
      ++n;
  return n;
}

void on_child_failed(self_ptr self, size_t index, const caf::error& reason);

void start_child(self_ptr self, size_t index) {
  auto& st = self->state;
  auto& slot = st.children[index];
  ++slot.generation;
  slot.started = clock::now();
  caf::actor hdl;
  caf::error failure;
  try {
    if (!slot.spec.start)
      failure = make_error(errc::start_failed, "child spec has no start function");
    else if (hdl = slot.spec.start(*self); !hdl)
      failure = make_error(errc::start_failed, "start function returned no actor");
  } catch (const std::exception& e) {
    failure = make_error(errc::start_failed, e.what());
  } catch (...) {
    failure = make_error(errc::start_failed, "start function threw a non-standard exception");
  }
  if (failure) {
    on_child_failed(self, index, failure);
    return;
  }
  slot.handle = hdl;
  slot.is_supervisor = is_supervisor(hdl);
  st.linked.insert(hdl.address());
  self->link_to(hdl);
  self->monitor(hdl);
  st.metrics->set_running(slot.spec.name, true);
  st.log->debug("supervisor '{}': started child '{}' (generation {})", st.supervisor,
                slot.spec.name, slot.generation);
}

/// Ends every running child without waiting: used when this supervisor is
/// about to quit anyway (escalation, or its own parent going down).
void stop_children_now(self_ptr self) {
  for (auto& c : self->state.children)
    if (c.handle)
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
}

void escalate(self_ptr self, size_t index, const caf::error& reason) {
  auto& st = self->state;
  const auto& slot = st.children[index];
  auto why = "child '" + slot.spec.name + "': "
             + std::to_string(slot.tracker.crashes_in_window()) + " crash(es) within "
             + std::to_string(millis(st.policy.window)) + " ms, more than the "
             + std::to_string(st.policy.max_restarts) + " allowed; last reason: " + describe(reason);
  st.log->error("supervisor '{}': restart budget exceeded: {}; stopping all children and "
                "escalating",
                st.supervisor, why);
  st.stopping = true;
  stop_children_now(self);
  self->quit(make_error(errc::restart_budget_exceeded, std::move(why)));
}

void on_child_failed(self_ptr self, size_t index, const caf::error& reason) {
  auto& st = self->state;
  auto& slot = st.children[index];
  auto decision = slot.tracker.on_crash(slot.started, clock::now());
  if (decision.escalate) {
    escalate(self, index, reason);
    return;
  }
  st.metrics->restarted(slot.spec.name);
  st.log->warn("supervisor '{}': child '{}' crashed ({}); restart #{} in {} ms", st.supervisor,
               slot.spec.name, describe(reason), slot.tracker.restarts(), millis(decision.delay));
  self->delayed_send(self, decision.delay, restart_atom::value, static_cast<uint64_t>(index),
                     slot.generation);
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  size_t index = 0;
  auto is_source = [&](const child_slot& c) { return c.handle && c.handle.address() == dm.source; };
  while (index < st.children.size() && !is_source(st.children[index]))
    ++index;
  if (index == st.children.size())
    return; // not (or no longer) one of ours
  auto& slot = st.children[index];
  slot.handle = nullptr;
  st.metrics->set_running(slot.spec.name, false);
  if (st.stopping) {
    if (running_children(st) == 0)
      self->quit();
    return;
  }
  if (dm.reason == caf::exit_reason::normal || dm.reason == caf::exit_reason::user_shutdown) {
    st.log->info("supervisor '{}': child '{}' exited ({}); not restarted", st.supervisor,
                 slot.spec.name, describe(dm.reason));
    return;
  }
  on_child_failed(self, index, dm.reason);
}

void on_exit(self_ptr self, const caf::exit_msg& em) {
  auto& st = self->state;
  if (st.linked.erase(em.source) > 0)
    return; // a child's link firing; the down_msg does the bookkeeping
  // Like a non-trapping actor, ignore a linked peer that ended normally.
  if (em.reason == caf::exit_reason::normal)
    return;
  st.log->info("supervisor '{}': asked to exit ({}); stopping children", st.supervisor,
               describe(em.reason));
  st.stopping = true;
  stop_children_now(self);
  self->quit(em.reason);
}

void begin_stop(self_ptr self) {
  auto& st = self->state;
  if (st.stopping)
    return;
  st.stopping = true;
  st.log->info("supervisor '{}': stopping {} running child(ren)", st.supervisor,
               running_children(st));
  if (running_children(st) == 0) {
    self->quit();
    return;
  }
  for (auto& c : st.children) {
    if (!c.handle)
      continue;
    if (c.is_supervisor)
      self->send(caf::actor_cast<supervisor_actor>(c.handle), stop_atom::value);
    else
      self->send_exit(c.handle, caf::exit_reason::user_shutdown);
  }
  self->delayed_send(self, st.policy.stop_timeout, timeout_atom::value);
}

void on_stop_timeout(self_ptr self) {
  auto& st = self->state;
  if (!st.stopping)
    return;
  for (auto& c : st.children) {
    if (!c.handle)
      continue;
    st.log->warn("supervisor '{}': child '{}' did not stop within {} ms; killing it",
                 st.supervisor, c.spec.name, millis(st.policy.stop_timeout));
    self->send_exit(c.handle, caf::exit_reason::kill);
  }
  self->quit();
}

/// Collects the own lines plus each nested supervisor's table, in child order.
struct info_gather {
  std::vector<std::vector<child_info>> parts;
  size_t pending = 0;
  caf::typed_response_promise<std::vector<child_info>> promise;

  std::vector<child_info> flatten() {
    std::vector<child_info> out;
    for (auto& part : parts)
      for (auto& line : part)
        out.push_back(std::move(line));
    return out;
  }

  void one_done() {
    if (--pending == 0)
      promise.deliver(flatten());
  }
};

caf::result<std::vector<child_info>> on_info(self_ptr self) {
  auto& st = self->state;
  auto gather = std::make_shared<info_gather>();
  gather->parts.resize(st.children.size());
  for (size_t i = 0; i < st.children.size(); ++i) {
    const auto& c = st.children[i];
    bool up = static_cast<bool>(c.handle);
    gather->parts[i].push_back(child_info{st.supervisor, c.spec.name, up, c.tracker.restarts(),
                                          up ? approximate_mailbox_size(c.handle) : 0});
    if (up && c.is_supervisor)
      ++gather->pending;
  }
  if (gather->pending == 0)
    return gather->flatten();
  gather->promise = self->make_response_promise<std::vector<child_info>>();
  for (size_t i = 0; i < st.children.size(); ++i) {
    const auto& c = st.children[i];
    if (!c.handle || !c.is_supervisor)
      continue;
    self->request(caf::actor_cast<supervisor_actor>(c.handle), nested_info_timeout,
                  info_atom::value)
      .then(
        [gather, i](std::vector<child_info>& lines) {
          auto& part = gather->parts[i];
          part.insert(part.end(), std::make_move_iterator(lines.begin()),
                      std::make_move_iterator(lines.end()));
          gather->one_done();
        },
        // A subtree that cannot answer (crashing, stopping) still shows its
        // own line; its children are simply absent from this answer.
        [gather](caf::error&) { gather->one_done(); });
  }
  return gather->promise;
}

caf::result<caf::actor> on_query(self_ptr self, const std::string& child) {
  for (const auto& c : self->state.children) {
    if (c.spec.name != child)
      continue;
    if (!c.handle)
      return caf::make_error(caf::sec::request_receiver_down);
    return c.handle;
  }
  return make_error(errc::unknown_child, child);
}

caf::error validate(const std::vector<child_spec>& specs) {
  std::unordered_set<std::string> seen;
  for (const auto& s : specs) {
    if (s.name.empty())
      return make_error(errc::invalid_child_spec, "a child has an empty name");
    if (!seen.insert(s.name).second)
      return make_error(errc::invalid_child_spec, "duplicate child name '" + s.name + "'");
  }
  return caf::none;
}

supervisor_impl::behavior_type supervise(self_ptr self, supervisor_args args) {
  auto& st = self->state;
  st.supervisor = std::move(args.name);
  st.policy = args.policy;
  st.log = log::get("supervision");
  st.metrics = std::make_shared<restart_metrics>(args.registry, st.supervisor);
  auto& specs = args.children;
  self->set_down_handler([self](caf::down_msg& dm) { on_down(self, dm); });
  self->set_exit_handler([self](caf::exit_msg& em) { on_exit(self, em); });
  self->set_exception_handler([self](std::exception_ptr& ep) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    self->state.log->critical("supervisor '{}': internal error: {}", self->state.supervisor, what);
    stop_children_now(self);
    return make_error(errc::internal_error, what);
  });
  // The running gauges must drop however this supervisor ends (even `kill`),
  // since its children end with it.
  std::vector<std::string> names;
  for (const auto& s : specs)
    names.push_back(s.name);
  self->attach_functor([metrics = st.metrics, names](const caf::error&) {
    for (const auto& n : names)
      metrics->set_running(n, false);
  });
  if (auto err = validate(specs)) {
    st.log->error("supervisor '{}': {}", st.supervisor, describe(err));
    st.stopping = true;
    self->quit(std::move(err));
  } else {
    for (auto& s : specs)
      st.children.push_back(child_slot{std::move(s), restart_tracker{st.policy}, {}, {}, 0, false});
    for (size_t i = 0; i < st.children.size() && !st.stopping; ++i)
      start_child(self, i);
  }
  return {
    [self](info_atom) { return on_info(self); },
    [self](query_atom, const std::string& child) { return on_query(self, child); },
    [self](stop_atom) { begin_stop(self); },
    [self](restart_atom, uint64_t index, uint64_t generation) {
      auto& st = self->state;
      if (st.stopping || index >= st.children.size())
        return;
      auto& slot = st.children[index];
      if (slot.handle || slot.generation != generation)
        return; // a stale timer: this slot was started again meanwhile
      start_child(self, index);
      if (slot.handle)
        st.log->info("supervisor '{}': restarted child '{}' (restart #{})", st.supervisor,
                     slot.spec.name, slot.tracker.restarts());
    },
    [self](timeout_atom) { on_stop_timeout(self); },
  };
}

} // namespace

supervisor_actor make_supervisor(caf::actor_system& sys, std::string name, restart_policy policy,
                                 std::vector<child_spec> children,
                                 prometheus::Registry* metrics) {
  return caf::actor_cast<supervisor_actor>(
    sys.spawn(supervise, supervisor_args{std::move(name), policy, std::move(children), metrics}));
}

child_spec supervisor_child(std::string name, restart_policy policy,
                            std::vector<child_spec> children, prometheus::Registry* metrics) {
  auto child_name = name;
  auto start = [args = supervisor_args{std::move(name), policy, std::move(children), metrics}](
                 caf::local_actor& parent) {
    return caf::actor_cast<caf::actor>(parent.spawn(supervise, args));
  };
  return {std::move(child_name), std::move(start)};
}

} // namespace troupe::supervision
