#include <catch2/catch.hpp>

#include <limits>

#include "storage/errc.hpp"
#include "storage/migrations.hpp"
#include "storage/node_store.hpp"
#include "tests/storage/storage_test_support.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using namespace std::chrono_literals;

namespace {

troupe::v1::Heartbeat heartbeat(const std::string& node, int64_t at, int64_t uptime) {
  troupe::v1::Heartbeat hb;
  hb.set_node_id(node);
  hb.set_cluster("c1");
  hb.add_roles("gateway");
  hb.add_roles("session");
  hb.set_at_unix_ms(at);
  hb.set_uptime_ms(uptime);
  hb.set_admin_url("http://10.0.0.1:9464");
  return hb;
}

connection migrated_connection() {
  auto url = fresh_database();
  auto conn = connection::open(url, 2s);
  REQUIRE(conn);
  REQUIRE(migrate(*conn, builtin_migrations(), 2s));
  return std::move(*conn);
}

} // namespace

TEST_CASE("a heartbeat inserts the node's row and a later one refreshes it in place",
          "[storage][integration]") {
  auto conn = migrated_connection();
  REQUIRE_FALSE(upsert_node(conn, heartbeat("n1", 1'700'000'010'000, 10'000), "1.2.3"));
  auto rec = find_node(conn, "n1");
  REQUIRE(rec);
  REQUIRE(rec->has_value());
  auto& row = **rec;
  CHECK(row.node_id == "n1");
  CHECK(row.cluster == "c1");
  CHECK(row.roles == std::vector<std::string>{"gateway", "session"});
  CHECK(row.version == "1.2.3");
  CHECK(row.admin_url == "http://10.0.0.1:9464");
  CHECK(row.started_unix_ms == 1'700'000'000'000);
  CHECK(row.last_seen_unix_ms == 1'700'000'010'000);

  auto later = heartbeat("n1", 1'700'000'020'000, 20'000);
  later.clear_roles();
  later.add_roles("audit, \"quoted\" {braces}");
  REQUIRE_FALSE(upsert_node(conn, later, ""));
  auto again = find_node(conn, "n1");
  REQUIRE(again);
  REQUIRE(again->has_value());
  CHECK((*again)->roles == std::vector<std::string>{"audit, \"quoted\" {braces}"});
  CHECK((*again)->version == "1.2.3"); // an empty version keeps the recorded one
  CHECK((*again)->last_seen_unix_ms == 1'700'000'020'000);
  CHECK((*again)->started_unix_ms == 1'700'000'000'000);
}

TEST_CASE("a heartbeat without a timestamp is stamped with the database's clock",
          "[storage][integration]") {
  auto conn = migrated_connection();
  REQUIRE_FALSE(upsert_node(conn, heartbeat("n2", 0, 5'000), "v"));
  auto rec = find_node(conn, "n2");
  REQUIRE(rec);
  REQUIRE(rec->has_value());
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  CHECK(std::abs((*rec)->last_seen_unix_ms - now) < 60'000);
  CHECK((*rec)->last_seen_unix_ms - (*rec)->started_unix_ms == 5'000);
}

TEST_CASE("finding an unknown node gives no row rather than an error", "[storage][integration]") {
  auto conn = migrated_connection();
  auto rec = find_node(conn, "nobody");
  REQUIRE(rec);
  CHECK_FALSE(rec->has_value());
}

TEST_CASE("bad heartbeats are refused as query_failed and the session stays usable",
          "[storage][integration]") {
  auto conn = migrated_connection();
  SECTION("no node id") {
    auto err = upsert_node(conn, heartbeat("", 1, 0), "v");
    CHECK(is(err, errc::query_failed));
    CHECK(message_of(err).find("without node_id") != std::string::npos);
  }
  SECTION("a timestamp PostgreSQL cannot hold") {
    auto err = upsert_node(conn, heartbeat("n3", std::numeric_limits<int64_t>::max(), 0), "v");
    CHECK(is(err, errc::query_failed));
    CHECK(message_of(err).find("node 'n3'") != std::string::npos);
  }
  SECTION("a role that is not valid UTF-8") {
    auto hb = heartbeat("n4", 1'700'000'000'000, 0);
    hb.add_roles(std::string("\xff\xfe", 2));
    CHECK(is(upsert_node(conn, hb, "v"), errc::query_failed));
  }
  SECTION("a NUL inside a role") {
    auto hb = heartbeat("n5", 1'700'000'000'000, 0);
    hb.add_roles(std::string("a\0b", 3));
    CHECK(is(upsert_node(conn, hb, "v"), errc::query_failed));
  }
  CHECK_FALSE(conn.broken());
  CHECK_FALSE(conn.ping());
  REQUIRE_FALSE(upsert_node(conn, heartbeat("ok", 1'700'000'000'000, 0), "v"));
  auto rec = find_node(conn, "ok");
  REQUIRE(rec);
  CHECK(rec->has_value());
}

TEST_CASE("a heartbeat before the schema exists fails with query_failed naming the node",
          "[storage][integration]") {
  auto conn = connection::open(fresh_database(), 2s);
  REQUIRE(conn);
  auto err = upsert_node(*conn, heartbeat("early", 1'700'000'000'000, 0), "v");
  CHECK(is(err, errc::query_failed));
  CHECK(message_of(err).find("node 'early'") != std::string::npos);
  CHECK(message_of(err).find("troupe_nodes") != std::string::npos);
  CHECK_FALSE(conn->broken());
}
