#include <catch2/catch.hpp>

#include "storage/api_key_store.hpp"
#include "storage/errc.hpp"
#include "storage/migrations.hpp"
#include "tests/storage/storage_test_support.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using namespace std::chrono_literals;

namespace {

connection migrated() {
  auto conn = connection::open(fresh_database(), 2s);
  REQUIRE(conn);
  REQUIRE(migrate(*conn, builtin_migrations(), 2s));
  return std::move(*conn);
}

api_key_record key(std::string id, std::string tenant) {
  api_key_record rec;
  rec.key_id = std::move(id);
  rec.tenant = std::move(tenant);
  rec.user_id = "alice";
  rec.name = "ci, \"quoted\"";
  rec.secret_sha256 = std::string(32, '\0');
  rec.secret_sha256[5] = '\xff';
  rec.roles = {"admin", "a,b {c}"};
  return rec;
}

} // namespace

TEST_CASE("an API key row round-trips with its binary hash and roles", "[storage][integration]") {
  auto conn = migrated();
  REQUIRE_FALSE(create_api_key(conn, key("k1", "t1")));
  auto found = find_api_key(conn, "k1");
  REQUIRE(found);
  REQUIRE(found->has_value());
  const auto& rec = **found;
  CHECK(rec.tenant == "t1");
  CHECK(rec.user_id == "alice");
  CHECK(rec.name == "ci, \"quoted\"");
  CHECK(rec.secret_sha256 == key("k1", "t1").secret_sha256);
  CHECK(rec.roles == std::vector<std::string>{"admin", "a,b {c}"});
  CHECK(rec.created_unix_ms > 0);
  CHECK(rec.last_used_unix_ms == 0);
  CHECK_FALSE(rec.revoked());
}

TEST_CASE("an unknown API key is no row, not an error", "[storage][integration]") {
  auto conn = migrated();
  auto found = find_api_key(conn, "nope");
  REQUIRE(found);
  CHECK_FALSE(found->has_value());
}

TEST_CASE("creating an API key twice or without its fields is refused", "[storage][integration]") {
  auto conn = migrated();
  REQUIRE_FALSE(create_api_key(conn, key("k1", "t1")));
  CHECK(is(create_api_key(conn, key("k1", "t2")), errc::query_failed));
  CHECK(is(create_api_key(conn, key("", "t1")), errc::query_failed));
  CHECK(is(create_api_key(conn, key("k2", "")), errc::query_failed));
  auto short_hash = key("k3", "t1");
  short_hash.secret_sha256 = "abc";
  CHECK(is(create_api_key(conn, short_hash), errc::query_failed));
  auto all = list_api_keys(conn, "");
  REQUIRE(all);
  CHECK(all->size() == 1);
}

TEST_CASE("listing API keys filters by tenant", "[storage][integration]") {
  auto conn = migrated();
  REQUIRE_FALSE(create_api_key(conn, key("a1", "ta")));
  REQUIRE_FALSE(create_api_key(conn, key("b1", "tb")));
  REQUIRE_FALSE(create_api_key(conn, key("a2", "ta")));
  auto ta = list_api_keys(conn, "ta");
  REQUIRE(ta);
  REQUIRE(ta->size() == 2);
  CHECK(((*ta)[0].key_id == "a1" && (*ta)[1].key_id == "a2"));
  auto all = list_api_keys(conn, "");
  REQUIRE(all);
  CHECK(all->size() == 3);
  auto none = list_api_keys(conn, "tc");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("revoking an API key stamps it once and an unknown key is reported",
          "[storage][integration]") {
  auto conn = migrated();
  REQUIRE_FALSE(create_api_key(conn, key("k1", "t1")));
  auto revoked = revoke_api_key(conn, "k1");
  REQUIRE(revoked);
  CHECK(*revoked);
  auto first = find_api_key(conn, "k1");
  REQUIRE(first);
  REQUIRE((*first)->revoked());
  auto again = revoke_api_key(conn, "k1");
  REQUIRE(again);
  CHECK(*again);
  auto second = find_api_key(conn, "k1");
  REQUIRE(second);
  CHECK((*second)->revoked_unix_ms == (*first)->revoked_unix_ms);
  auto unknown = revoke_api_key(conn, "k9");
  REQUIRE(unknown);
  CHECK_FALSE(*unknown);
}

TEST_CASE("touching an API key records its last use", "[storage][integration]") {
  auto conn = migrated();
  REQUIRE_FALSE(create_api_key(conn, key("k1", "t1")));
  REQUIRE_FALSE(touch_api_key(conn, "k1"));
  REQUIRE_FALSE(touch_api_key(conn, "unknown"));
  auto found = find_api_key(conn, "k1");
  REQUIRE(found);
  CHECK((*found)->last_used_unix_ms >= (*found)->created_unix_ms);
}

TEST_CASE("the API key store on an unmigrated database names the failed query",
          "[storage][integration]") {
  auto conn = connection::open(fresh_database(), 2s);
  REQUIRE(conn);
  auto found = find_api_key(*conn, "k1");
  REQUIRE_FALSE(found);
  CHECK(is(found.error(), errc::query_failed));
  CHECK(message_of(found.error()).find("troupe_api_keys") != std::string::npos);
}
