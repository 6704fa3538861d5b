#include "storage/storage_actor.hpp"

#include <algorithm>
#include <optional>
#include <sstream>

#include "common/logging.hpp"
#include "storage/connection.hpp"
#include "storage/errc.hpp"
#include "storage/lazy_connection.hpp"
#include "storage/node_store.hpp"

namespace troupe::storage {

namespace {

struct storage_state {
  std::optional<lazy_connection> db;
  storage_status status;
  std::string endpoint;    // of the last session, for log lines
  std::string last_logged; // the last failure logged, so repeats stay quiet
  static inline const char* name = "storage";
};

using self_ptr = storage_actor::stateful_pointer<storage_state>;

std::string describe(const caf::error& err) {
  if (!err) // CAF 0.17's category() dereferences the empty error's data
    return "none";
  auto text = message_of(err);
  if (err.category() == error_category)
    return std::string{to_string(static_cast<errc>(err.code()))} + ": " + text;
  return caf::to_string(err);
}

/// Runs `f` on the session (storage/lazy_connection.hpp: replaced once at
/// once when stale, a fast failure during the backoff after a failed connect).
template <class F>
auto with_session(storage_state& st, F f) -> decltype(f(std::declval<connection&>())) {
  return st.db->with_session([&](connection& c) {
    st.endpoint = c.endpoint();
    return f(c);
  });
}

bool is_connection_error(const caf::error& err) {
  return is(err, errc::unreachable) || is(err, errc::invalid_url);
}

/// Everything is fine again: the next failure is news.
void all_clear(storage_state& st) {
  st.status.last_error.clear();
  st.last_logged.clear();
}

/// Records the outcome of a request. Logs only news: an outage is one line
/// when it starts and one when it ends, not one per heartbeat.
void note(self_ptr self, const caf::error& err) {
  auto& st = self->state;
  auto lg = log::get("storage");
  bool reachable = !err || !is_connection_error(err);
  if (reachable && !st.status.reachable) {
    lg->info("PostgreSQL reachable at {}", st.endpoint);
    all_clear(st); // the outage is over; its message with it
  }
  if (err) {
    auto text = describe(err);
    if (text != st.last_logged)
      lg->warn("{}", text);
    st.last_logged = std::move(text);
    st.status.last_error = message_of(err).empty() ? st.last_logged : message_of(err);
  }
  st.status.reachable = reachable;
  if (!reachable)
    st.status.migrated = false;
}

std::string join(const std::vector<int>& versions) {
  std::ostringstream out;
  for (size_t i = 0; i < versions.size(); ++i)
    out << (i == 0 ? "" : ", ") << versions[i];
  return out.str();
}

storage_status refresh_status(self_ptr self) {
  auto& st = self->state;
  auto schema =
      with_session(st, [](connection& c) { return inspect_schema(c, builtin_migrations()); });
  if (!schema) {
    note(self, schema.error());
    return st.status;
  }
  note(self, caf::none);
  st.status.migrated = schema->up_to_date();
  st.status.schema_version = schema->schema_version;
  if (!schema->changed.empty())
    st.status.last_error = "applied migration(s) " + join(schema->changed)
                           + " differ from this build (checksum mismatch)";
  else if (!schema->pending.empty())
    st.status.last_error = "schema at version " + std::to_string(schema->schema_version)
                           + ", migration(s) " + join(schema->pending) + " not applied";
  else
    all_clear(st);
  return st.status;
}

storage_actor::behavior_type storage_impl(self_ptr self, std::string url,
                                          std::chrono::seconds connect_timeout) {
  // Readiness follows this session: after an outage it retries a connect
  // every quarter second, so /ready turns 200 within about that (plus the
  // control actor's half-second refresh) of the database serving again.
  self->state.db.emplace(std::move(url), lazy_connection_options{connect_timeout,
                                                                 std::chrono::milliseconds{100},
                                                                 std::chrono::milliseconds{250}});
  // Every storage call turns its exceptions into errors; what could still
  // escape (out of memory) ends the actor with a storage error the node's
  // watcher reports, instead of CAF's bare "unhandled exception".
  self->set_exception_handler([](std::exception_ptr& ep) -> caf::error {
    std::string what = "an unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::get("storage")->critical("storage actor failed: {}", what);
    return make_error(errc::unknown, "storage actor failed: " + what);
  });
  return {
      [self](ping_atom) -> bool {
        auto err = with_session(self->state, [](connection& c) { return c.ping(); });
        note(self, err);
        return !err;
      },
      [self](migrate_atom) -> caf::result<migration_report> {
        auto report = with_session(self->state, [](connection& c) {
          return migrate(c, builtin_migrations(), actor_migration_lock_timeout);
        });
        if (!report) {
          note(self, report.error());
          self->state.status.migrated = false;
          return report.error();
        }
        note(self, caf::none);
        self->state.status.migrated = true;
        self->state.status.schema_version = report->schema_version;
        all_clear(self->state);
        return std::move(*report);
      },
      [self](status_atom) -> storage_status { return refresh_status(self); },
      [self](info_atom, const troupe::v1::Heartbeat& hb) {
        auto err = with_session(
            self->state, [&](connection& c) { return upsert_node(c, hb, TROUPE_STORAGE_VERSION); });
        note(self, err);
      },
  };
}

} // namespace

storage_actor make_storage_actor(caf::actor_system& sys, std::string url,
                                 std::chrono::seconds connect_timeout) {
  return sys.spawn<caf::detached>(storage_impl, std::move(url), connect_timeout);
}

} // namespace troupe::storage
