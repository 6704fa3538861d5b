#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <thread>

#include "storage/connection.hpp"
#include "storage/errc.hpp"
#include "storage/migrations.hpp"
#include "tests/storage/storage_test_support.hpp"
#include "tests/support/free_port.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using namespace std::chrono_literals;

namespace {

const std::vector<migration> three{
    {1, "create_a", "CREATE TABLE a (id int PRIMARY KEY);"},
    {2, "create_b", "CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id));"},
    {3, "seed_a", "INSERT INTO a VALUES (1), (2), (3);"},
};

} // namespace

TEST_CASE("migrations apply in order and record version, name and checksum",
          "[storage][integration]") {
  auto url = fresh_database();
  auto report = migrate(url, three, 5s);
  REQUIRE(report);
  CHECK(report->applied == std::vector<int>{1, 2, 3});
  CHECK(report->schema_version == 3);
  CHECK(scalar(url, "SELECT count(*) FROM a") == "3");
  CHECK(table_exists(url, "b"));
  CHECK(scalar(url, "SELECT string_agg(version || ':' || name, ',' ORDER BY version) "
                    "FROM troupe_schema_migrations")
        == "1:create_a,2:create_b,3:seed_a");
  CHECK(scalar(url, "SELECT checksum FROM troupe_schema_migrations WHERE version = 2")
        == checksum(three[1].sql));
  CHECK(scalar(url, "SELECT count(*) FROM troupe_schema_migrations WHERE applied_at IS NULL")
        == "0");
}

TEST_CASE("the built-in migrations create troupe_nodes", "[storage][integration]") {
  auto url = fresh_database();
  auto report = migrate(url, builtin_migrations(), 5s);
  REQUIRE(report);
  CHECK(report->applied.front() == 1);
  CHECK(report->schema_version == builtin_migrations().back().version);
  CHECK(scalar(url, "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
                    "ordinal_position) FROM information_schema.columns "
                    "WHERE table_name = 'troupe_nodes'")
        == "node_id text, cluster text, roles ARRAY, version text, admin_url text, "
           "started_at timestamp with time zone, last_seen timestamp with time zone");
}

TEST_CASE("a second run applies nothing and reports the same schema version",
          "[storage][integration]") {
  auto url = fresh_database();
  REQUIRE(migrate(url, three, 5s));
  auto again = migrate(url, three, 5s);
  REQUIRE(again);
  CHECK(again->applied.empty());
  CHECK(again->schema_version == 3);
  CHECK(scalar(url, "SELECT count(*) FROM a") == "3");
  SECTION("and a later build applies only its new migration") {
    auto more = three;
    more.push_back({4, "create_c", "CREATE TABLE c (x text);"});
    auto next = migrate(url, more, 5s);
    REQUIRE(next);
    CHECK(next->applied == std::vector<int>{4});
    CHECK(next->schema_version == 4);
  }
}

TEST_CASE("two concurrent migrate calls serialize and apply each version exactly once",
          "[storage][integration]") {
  auto url = fresh_database();
  // The sleep keeps the first migrator inside the lock long enough for the
  // second to queue behind it; CREATE TABLE without IF NOT EXISTS fails if
  // a version ran twice.
  std::vector<migration> slow{
      {1, "slow", "SELECT pg_sleep(0.3); CREATE TABLE once (id int);"},
      {2, "insert", "INSERT INTO once VALUES (42);"},
  };
  std::optional<caf::expected<migration_report>> out1, out2;
  std::thread t1{[&] { out1 = migrate(url, slow, 10s); }};
  std::thread t2{[&] { out2 = migrate(url, slow, 10s); }};
  t1.join();
  t2.join();
  REQUIRE(out1);
  REQUIRE(out2);
  auto& r1 = *out1;
  auto& r2 = *out2;
  REQUIRE(r1);
  REQUIRE(r2);
  std::vector<int> all = r1->applied;
  all.insert(all.end(), r2->applied.begin(), r2->applied.end());
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<int>{1, 2});
  CHECK((r1->applied.empty() || r2->applied.empty())); // one did the work, the other waited
  CHECK(r1->schema_version == 2);
  CHECK(r2->schema_version == 2);
  CHECK(scalar(url, "SELECT count(*) FROM once") == "1");
  CHECK(scalar(url, "SELECT count(*) FROM troupe_schema_migrations") == "2");
}

TEST_CASE("a failing migration names its version and PostgreSQL's message and leaves nothing",
          "[storage][integration]") {
  auto url = fresh_database();
  std::vector<migration> ms{
      {1, "good", "CREATE TABLE good (id int);"},
      {2, "broken", "CREATE TABLE partial (id int); INSERT INTO missing_table VALUES (1);"},
      {3, "after", "CREATE TABLE after_broken (id int);"},
  };
  auto report = migrate(url, ms, 5s);
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::migration_failed));
  auto msg = message_of(report.error());
  CHECK(msg.find("migration 2 (broken) failed") != std::string::npos);
  CHECK(msg.find("relation \"missing_table\" does not exist") != std::string::npos);
  CHECK(table_exists(url, "good"));
  CHECK_FALSE(table_exists(url, "partial"));
  CHECK_FALSE(table_exists(url, "after_broken"));
  CHECK(scalar(url, "SELECT string_agg(version::text, ',') FROM troupe_schema_migrations") == "1");
  // The lock was released: a migrator that refuses to wait gets it at once.
  ms[1].sql = "CREATE TABLE partial (id int);";
  auto fixed = migrate(url, ms, 0s);
  REQUIRE(fixed);
  CHECK(fixed->applied == std::vector<int>{2, 3});
  CHECK(table_exists(url, "partial"));
}

TEST_CASE("an applied migration whose text changed is refused and nothing after it runs",
          "[storage][integration]") {
  auto url = fresh_database();
  REQUIRE(migrate(url, {three[0], three[1]}, 5s));
  auto edited = three;
  edited[1].sql = "CREATE TABLE b (id bigint PRIMARY KEY);";
  auto report = migrate(url, edited, 5s);
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::checksum_mismatch));
  auto msg = message_of(report.error());
  CHECK(msg.find("migration 2 (create_b) was changed after it was applied") != std::string::npos);
  CHECK(msg.find(checksum(three[1].sql).substr(0, 12)) != std::string::npos);
  CHECK(msg.find(checksum(edited[1].sql).substr(0, 12)) != std::string::npos);
  CHECK(scalar(url, "SELECT count(*) FROM troupe_schema_migrations") == "2");
  CHECK(scalar(url, "SELECT count(*) FROM a") == "0"); // version 3 did not run
}

TEST_CASE("an invalid migration list is refused before any connection is made") {
  troupe::test::closed_port nobody;
  auto url = "postgresql://postgres@127.0.0.1:" + std::to_string(nobody.port()) + "/x";
  auto report = migrate(url, {{2, "b", "SELECT 1"}, {2, "again", "SELECT 1"}}, 1s);
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::migration_failed));
  CHECK(message_of(report.error()).find("strictly increasing") != std::string::npos);
}

TEST_CASE("an unreachable PostgreSQL gives errc::unreachable quickly without the password") {
  troupe::test::closed_port nobody;
  auto port = std::to_string(nobody.port());
  auto url = "postgresql://troupe:Sup3rSecretPw@127.0.0.1:" + port + "/troupe";
  auto t0 = std::chrono::steady_clock::now();
  auto report = migrate(url, builtin_migrations(), 5s);
  CHECK(seconds_since(t0) < 3.0);
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::unreachable));
  auto msg = message_of(report.error());
  CHECK(msg.find("cannot reach PostgreSQL at 127.0.0.1:" + port + "/troupe: ") == 0);
  CHECK(msg.find("Sup3rSecretPw") == std::string::npos);
  // What `troupe migrate` prints: the category and the message, no secret.
  auto printed = caf::to_string(report.error());
  CHECK(printed.find("storage") != std::string::npos);
  CHECK(printed.find("cannot reach PostgreSQL at 127.0.0.1:" + port) != std::string::npos);
  CHECK(printed.find("Sup3rSecretPw") == std::string::npos);

  auto conn = connection::open(url, 2s);
  REQUIRE_FALSE(conn);
  CHECK(is(conn.error(), errc::unreachable));
}

TEST_CASE("a URL libpq rejects gives errc::invalid_url") {
  auto report = migrate("postgresql://127.0.0.1/db?not_an_option=1", builtin_migrations(), 1s);
  REQUIRE_FALSE(report);
  CHECK(is(report.error(), errc::invalid_url));
}

TEST_CASE("migrate gives lock_timeout while another process holds the migration lock",
          "[storage][integration]") {
  auto url = fresh_database();
  pqxx::connection holder{url};
  pqxx::nontransaction tx{holder};
  tx.exec("SELECT pg_advisory_lock(" + std::to_string(migration_lock_key) + ")");

  auto t0 = std::chrono::steady_clock::now();
  auto waited = migrate(url, three, 1s);
  auto elapsed = seconds_since(t0);
  REQUIRE_FALSE(waited);
  CHECK(is(waited.error(), errc::lock_timeout));
  CHECK(message_of(waited.error()).find("migration lock") != std::string::npos);
  CHECK(elapsed >= 0.9);
  CHECK(elapsed < 3.0);

  auto no_wait = migrate(url, three, 0s);
  REQUIRE_FALSE(no_wait);
  CHECK(is(no_wait.error(), errc::lock_timeout));
  CHECK_FALSE(table_exists(url, "a"));

  tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")");
  auto recorded = three;
  recorded.push_back(
      {4, "record_setting", "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS v;"});
  auto done = migrate(url, recorded, 1s);
  REQUIRE(done);
  CHECK(done->applied == std::vector<int>{1, 2, 3, 4});
  // The migrations did not inherit the short lock_timeout of the lock wait.
  CHECK(scalar(url, "SELECT v FROM seen") == "0");
}

TEST_CASE("inspect_schema tells pending and changed versions apart without changing anything",
          "[storage][integration]") {
  auto url = fresh_database();
  auto conn = connection::open(url, 2s);
  REQUIRE(conn);
  auto empty = inspect_schema(*conn, three);
  REQUIRE(empty);
  CHECK(empty->schema_version == 0);
  CHECK(empty->pending == std::vector<int>{1, 2, 3});
  CHECK_FALSE(empty->up_to_date());
  CHECK_FALSE(table_exists(url, "troupe_schema_migrations"));

  REQUIRE(migrate(*conn, {three[0], three[1]}, 1s));
  auto edited = three;
  edited[0].sql += "\n-- edited";
  auto state = inspect_schema(*conn, edited);
  REQUIRE(state);
  CHECK(state->schema_version == 2);
  CHECK(state->pending == std::vector<int>{3});
  CHECK(state->changed == std::vector<int>{1});

  REQUIRE(migrate(*conn, three, 1s));
  auto done = inspect_schema(*conn, three);
  REQUIRE(done);
  CHECK(done->up_to_date());
  CHECK(done->schema_version == 3);
}
