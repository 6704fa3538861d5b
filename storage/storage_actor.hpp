#pragma once
/// The storage actor: the node's PostgreSQL session for migrations, status
/// and heartbeats (sessions' reads and commits have their own workers).
///
/// It runs `caf::detached` (its own thread), so libpqxx's blocking calls never
/// occupy the scheduler workers that serve other actors' messages. The
/// session is opened lazily, dropped when it breaks and reopened on the next
/// message (lazy_connection: after a failed connect, fast failures for 100 ms
/// doubling to 1 s while PostgreSQL stays down, so a
/// backlog of status requests is answered from what is known instead of
/// each waiting out a connect timeout). Every failure is an answer, never an
/// exception: the actor outlives any outage of the database.
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <chrono>
#include <string>

#include "messages/message_types.hpp"
#include "storage/migrations.hpp"

// Heartbeats travel locally from the control actor to this actor.

namespace troupe::storage {

/// What /ready and /health need: "PostgreSQL reachable, migrations applied".
struct storage_status {
  bool reachable = false; // the last round trip (made by this request) succeeded
  bool migrated = false;  // every built-in migration is applied, unchanged
  int schema_version = 0; // highest applied version (last known while unreachable)
  std::string last_error; // why not reachable/migrated, or the latest failure; empty when fine
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage_status& x) {
  return f(caf::meta::type_name("storage_status"), x.reachable, x.migrated, x.schema_version,
           x.last_error);
}

using storage_actor = caf::typed_actor<
    caf::replies_to<ping_atom>::with<bool>,                // reachable now?
    caf::replies_to<migrate_atom>::with<migration_report>, // builtin_migrations(), or an error
    caf::replies_to<status_atom>::with<storage_status>,    // checks the database now
    caf::reacts_to<info_atom, troupe::v1::Heartbeat>>;     // upserts the troupe_nodes row

/// How long a migrate request waits for another migrator's lock.
constexpr std::chrono::seconds actor_migration_lock_timeout{30};

/// Spawns the actor (detached). `connect_timeout` bounds each connection
/// attempt (libpq waits at least 2 s); the URL is not checked here: an
/// invalid one makes every request answer with errc::invalid_url.
[[nodiscard]] storage_actor make_storage_actor(caf::actor_system& sys, std::string url,
                                               std::chrono::seconds connect_timeout);

} // namespace troupe::storage
