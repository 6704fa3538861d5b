#pragma once
/// Supervisors: the node's tree is root -> one supervisor per role -> actors.
/// A supervisor restarts each crashed child on its own (one-for-one) after an
/// exponential backoff, and when a child crashes more often than its restart
/// budget allows it stops everything it owns and fails with
/// errc::restart_budget_exceeded, so that its own parent applies ITS policy.
/// Whoever monitors the root sees that error in the down_msg.
///
/// Lifecycle: children are linked to their supervisor (they die with it) and
/// monitored by it (it learns how they died). A child that exits `normal` or
/// `user_shutdown` stays down. `stop_atom` stops all children and then quits
/// `normal`; an exit_msg from anyone but a child (the parent dying, or
/// send_exit) stops the children and quits with that reason.
#include <caf/all.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "actors/supervision/errc.hpp"
#include "actors/supervision/restart_policy.hpp"
#include "messages/message_types.hpp"

namespace prometheus {
class Registry;
} // namespace prometheus

namespace troupe::supervision {

/// How to (re)start one child. `start` runs inside the supervisor and must
/// spawn through `parent` (`parent.spawn(...)`); the supervisor then links and
/// monitors what it returns. Typed children are returned through
/// `caf::actor_cast<caf::actor>`. A `start` that throws or returns an invalid
/// handle counts as a crash of that child.
struct child_spec {
  std::string name;
  std::function<caf::actor(caf::local_actor& parent)> start;
};

/// One line of the console's actor table.
struct child_info {
  std::string supervisor; // name of the supervisor that owns the child
  std::string name;       // the child's name in its child_spec
  bool running = false;   // false while in backoff, after a clean exit, or while stopping
  uint32_t restarts = 0;  // restarts of this child by this supervisor instance
  /// Messages waiting in the child's mailbox: an approximation (see
  /// mailbox_probe.hpp), 0 when the child is down.
  size_t mailbox_size = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_info& x) {
  return f(caf::meta::type_name("child_info"), x.supervisor, x.name, x.running, x.restarts,
           x.mailbox_size);
}

using supervisor_actor = caf::typed_actor<
  /// Every child's line; a child that is itself a supervisor also contributes
  /// its children's lines, right after its own.
  caf::replies_to<info_atom>::with<std::vector<child_info>>,
  /// The child's current handle; sec::request_receiver_down while it is down,
  /// errc::unknown_child for a name this supervisor does not have.
  caf::replies_to<query_atom, std::string>::with<caf::actor>,
  /// Orderly stop: children first (killed after policy.stop_timeout), then
  /// quit `normal`. No restarts happen once a stop began.
  caf::reacts_to<stop_atom>>;

/// Spawns a top-level supervisor (the root of a tree). Child names must be
/// unique and non-empty, or the supervisor quits at once with
/// errc::invalid_child_spec. `metrics`, when given, must outlive the
/// supervisor; it receives troupe_actor_restarts_total and
/// troupe_actor_running, both labelled {supervisor, child}.
supervisor_actor make_supervisor(caf::actor_system& sys, std::string name, restart_policy policy,
                                 std::vector<child_spec> children,
                                 prometheus::Registry* metrics = nullptr);

/// A nested supervisor as a child of another supervisor (e.g. one per role
/// under the node's root). Its `name` is both its child name and the
/// `supervisor` label of its own children.
child_spec supervisor_child(std::string name, restart_policy policy,
                            std::vector<child_spec> children,
                            prometheus::Registry* metrics = nullptr);

} // namespace troupe::supervision
