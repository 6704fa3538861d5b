#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "storage/connection.hpp"
#include "storage/errc.hpp"
#include "storage/node_store.hpp"
#include "storage/storage_actor.hpp"
#include "tests/storage/storage_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/free_port.hpp"

using namespace troupe;
using namespace troupe::storage;
using namespace troupe::storage::testing;
using namespace std::chrono_literals;

namespace {

struct actor_fixture {
  actor_fixture() : sys{init(cfg)} {}
  static caf::actor_system_config& init(caf::actor_system_config& c) {
    announce_message_types(c);
    c.set("scheduler.max-threads", 1);
    return c;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self{sys};

  bool ping(const storage_actor& a) {
    bool out = false;
    self->request(a, 10s, ping_atom::value)
        .receive([&](bool r) { out = r; },
                 [&](const caf::error& e) { FAIL("ping failed: " << sys.render(e)); });
    return out;
  }
  storage_status status(const storage_actor& a) {
    storage_status out;
    self->request(a, 10s, status_atom::value)
        .receive([&](const storage_status& s) { out = s; },
                 [&](const caf::error& e) { FAIL("status failed: " << sys.render(e)); });
    return out;
  }
  caf::expected<migration_report> migrate_via(const storage_actor& a) {
    caf::expected<migration_report> out{migration_report{}};
    self->request(a, 40s, migrate_atom::value)
        .receive([&](const migration_report& r) { out = r; },
                 [&](const caf::error& e) { out = e; });
    return out;
  }
};

troupe::v1::Heartbeat heartbeat(const std::string& node) {
  troupe::v1::Heartbeat hb;
  hb.set_node_id(node);
  hb.set_cluster("c1");
  hb.add_roles("session");
  hb.set_at_unix_ms(1'700'000'000'000);
  hb.set_uptime_ms(1'000);
  hb.set_admin_url("http://127.0.0.1:9464");
  return hb;
}

} // namespace

TEST_CASE_METHOD(actor_fixture, "the storage actor answers ping, migrate and status",
                 "[storage][integration]") {
  auto url = fresh_database();
  auto store = make_storage_actor(sys, url, 2s);
  CHECK(ping(store));

  auto before = status(store);
  CHECK(before.reachable);
  CHECK_FALSE(before.migrated);
  CHECK(before.schema_version == 0);
  CHECK(before.last_error.find("not applied") != std::string::npos);

  auto report = migrate_via(store);
  REQUIRE(report);
  CHECK(report->applied.front() == 1);
  CHECK(report->schema_version == builtin_migrations().back().version);

  auto after = status(store);
  CHECK(after.reachable);
  CHECK(after.migrated);
  CHECK(after.schema_version == builtin_migrations().back().version);
  CHECK(after.last_error.empty());

  auto again = migrate_via(store);
  REQUIRE(again);
  CHECK(again->applied.empty());
}

TEST_CASE_METHOD(actor_fixture, "the storage actor upserts a Heartbeat into troupe_nodes",
                 "[storage][integration]") {
  auto url = fresh_database();
  auto store = make_storage_actor(sys, url, 2s);
  REQUIRE(migrate_via(store));
  self->send(store, info_atom::value, heartbeat("node-a"));
  auto hb = heartbeat("node-a");
  hb.set_at_unix_ms(1'700'000'005'000);
  self->send(store, info_atom::value, hb);
  CHECK(status(store).reachable); // the mailbox is in order: both heartbeats are done

  auto conn = connection::open(url, 2s);
  REQUIRE(conn);
  auto rec = find_node(*conn, "node-a");
  REQUIRE(rec);
  REQUIRE(rec->has_value());
  CHECK((*rec)->cluster == "c1");
  CHECK((*rec)->roles == std::vector<std::string>{"session"});
  CHECK((*rec)->version == TROUPE_STORAGE_VERSION);
  CHECK((*rec)->last_seen_unix_ms == 1'700'000'005'000);
  CHECK(scalar(url, "SELECT count(*) FROM troupe_nodes") == "1");
}

TEST_CASE_METHOD(actor_fixture, "a bad heartbeat is reported in status and the actor goes on",
                 "[storage][integration]") {
  auto url = fresh_database();
  auto store = make_storage_actor(sys, url, 2s);
  self->send(store, info_atom::value, heartbeat("too-early")); // no schema yet
  auto early = status(store);
  CHECK(early.reachable);
  CHECK_FALSE(early.migrated);
  REQUIRE(migrate_via(store));
  self->send(store, info_atom::value, heartbeat(""));
  CHECK(ping(store));
  self->send(store, info_atom::value, heartbeat("fine"));
  CHECK(status(store).migrated);
  CHECK(scalar(url, "SELECT string_agg(node_id, ',') FROM troupe_nodes") == "fine");
}

TEST_CASE_METHOD(actor_fixture, "the storage actor survives the database being stopped",
                 "[storage][integration]") {
  troupe::test::pg_server server;
  auto url = fresh_database(server);
  auto store = make_storage_actor(sys, url, 2s);
  REQUIRE(migrate_via(store));
  CHECK(ping(store));
  REQUIRE(status(store).migrated);

  server.stop();
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(ping(store));
  auto down = status(store);
  CHECK_FALSE(down.reachable);
  CHECK_FALSE(down.migrated);
  CHECK(down.schema_version == builtin_migrations().back().version); // last known
  CHECK(down.last_error.find("PostgreSQL") != std::string::npos);
  self->send(store, info_atom::value, heartbeat("while-down"));
  auto failed = migrate_via(store);
  REQUIRE_FALSE(failed);
  CHECK(is(failed.error(), errc::unreachable));
  for (int i = 0; i < 5; ++i)
    CHECK_FALSE(ping(store));
  CHECK(seconds_since(t0) < 5.0);
  CHECK_FALSE(status(store).reachable);
}

TEST_CASE_METHOD(actor_fixture, "the storage actor replaces a session the server cut",
                 "[storage][integration]") {
  auto url = fresh_database();
  auto store = make_storage_actor(sys, url, 2s);
  REQUIRE(ping(store));
  auto victims = scalar(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  CHECK(victims == "1");
  CHECK(ping(store)); // the stale session was noticed and replaced within the request
  CHECK(status(store).reachable);
}

TEST_CASE_METHOD(actor_fixture, "a storage actor pointed at nothing answers quickly and clearly") {
  troupe::test::closed_port nobody;
  auto port = std::to_string(nobody.port());
  auto store = make_storage_actor(sys, "postgresql://u:TopSecret@127.0.0.1:" + port + "/db", 2s);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(ping(store));
  auto st = status(store);
  CHECK_FALSE(st.reachable);
  CHECK(st.last_error.find("cannot reach PostgreSQL at 127.0.0.1:" + port) != std::string::npos);
  CHECK(st.last_error.find("TopSecret") == std::string::npos);
  auto m = migrate_via(store);
  REQUIRE_FALSE(m);
  CHECK(is(m.error(), errc::unreachable));
  CHECK(seconds_since(t0) < 3.0);

  auto bad = make_storage_actor(sys, "postgresql://h/db?nonsense=1", 2s);
  auto r = migrate_via(bad);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_url));
  CHECK_FALSE(status(bad).reachable);
}

TEST_CASE_METHOD(actor_fixture, "a blocked storage actor does not hold up the scheduler",
                 "[storage][integration]") {
  // One scheduler worker: if the storage actor ran on it, the echo actor
  // below could not answer while the migration waits for the lock.
  auto url = fresh_database();
  auto detached_before = sys.detached_actors();
  auto store = make_storage_actor(sys, url, 2s);
  CHECK(sys.detached_actors() == detached_before + 1);
  auto echo = sys.spawn([]() -> caf::behavior { return {[](int x) { return x + 1; }}; });

  pqxx::connection holder{url};
  pqxx::nontransaction tx{holder};
  tx.exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");

  caf::scoped_actor migrator{sys};
  migrator->send(store, migrate_atom::value); // the reply comes back to `migrator` later
  // Wait until the storage actor is really blocked inside PostgreSQL.
  REQUIRE(troupe::test::wait_until(5000ms, [&] {
    return scalar(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND NOT granted")
           == "1";
  }));
  int answer = 0;
  auto t0 = std::chrono::steady_clock::now();
  self->request(echo, 2s, 41)
      .receive([&](int r) { answer = r; }, [&](const caf::error& e) { FAIL(sys.render(e)); });
  CHECK(answer == 42);
  CHECK(seconds_since(t0) < 0.5);

  tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
  bool migrated = false;
  migrator->receive([&](const migration_report& r) { migrated = !r.applied.empty(); },
                    caf::after(10s) >> [] { FAIL("no migrate reply"); });
  CHECK(migrated);
  self->send_exit(echo, caf::exit_reason::user_shutdown);
}
