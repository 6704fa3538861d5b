#include <catch2/catch.hpp>

#include <set>

#include "actors/gateway/identity/api_key.hpp"
#include "actors/gateway/identity/errc.hpp"
#include "storage/api_key_store.hpp"
#include "tests/identity/identity_test_support.hpp"

using namespace troupe;
using namespace troupe::gateway::identity;
using namespace troupe::identity_test;

namespace {

const std::string id12 = "AbCdEf012345";
const std::string secret43 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

} // namespace

TEST_CASE("an API key parses into its key id and secret") {
  auto text = "trp_" + id12 + "_" + secret43;
  auto key = parse_api_key(text);
  REQUIRE(key);
  CHECK(key->key_id == id12);
  CHECK(key->secret == secret43);
}

TEST_CASE("anything but the exact API key format is refused") {
  for (const auto& text :
       {std::string{}, std::string{"trp_"}, "trp_" + id12, "trp_" + id12 + "_" + secret43 + "x",
        "trp_" + id12 + "_" + secret43.substr(1), "trp_" + id12 + "-" + secret43,
        "TRP_" + id12 + "_" + secret43, "trp_" + id12.substr(1) + "_x" + secret43,
        "trp_" + id12 + "_" + secret43.substr(1) + "-",
        "trp_" + id12 + "_" + secret43.substr(1) + "=", "trp_AbCdEf01234_" + secret43 + "_"}) {
    INFO(text);
    CHECK_FALSE(parse_api_key(text));
  }
}

TEST_CASE("a secret matches only its own SHA-256") {
  auto hash = hash_api_key_secret(secret43);
  CHECK(hash.size() == 32);
  CHECK(api_key_secret_matches(secret43, hash));
  auto other = secret43;
  other[42] = 'H';
  CHECK_FALSE(api_key_secret_matches(other, hash));
  CHECK_FALSE(api_key_secret_matches(secret43, hash.substr(0, 31)));
  CHECK_FALSE(api_key_secret_matches(secret43, ""));
}

TEST_CASE("issued API keys are fresh, parse back and are stored only as a hash",
          "[identity][integration]") {
  auto url = migrated_database();
  auto conn = open_session(url);
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto key = issue_api_key(conn, "acme", "alice", "ci", {"reader"});
    REQUIRE(key);
    auto parts = parse_api_key(key->full_key);
    REQUIRE(parts);
    CHECK(parts->key_id == key->key_id);
    CHECK(seen.insert(key->full_key).second);
    auto row = storage::find_api_key(conn, key->key_id);
    REQUIRE(row);
    REQUIRE(row->has_value());
    CHECK((*row)->secret_sha256 == hash_api_key_secret(parts->secret));
    CHECK((*row)->tenant == "acme");
    CHECK((*row)->roles == std::vector<std::string>{"reader"});
  }
}

TEST_CASE("issuing refuses a tenant, user or role an API key cannot carry",
          "[identity][integration]") {
  auto url = migrated_database();
  auto conn = open_session(url);
  CHECK(is(issue_api_key(conn, "a.b", "u", "", {}).error(), errc::invalid_argument));
  CHECK(is(issue_api_key(conn, "", "u", "", {}).error(), errc::invalid_argument));
  CHECK(is(issue_api_key(conn, "t", "", "", {}).error(), errc::invalid_argument));
  CHECK(is(issue_api_key(conn, "t", "u", "", {"ok", ""}).error(), errc::invalid_argument));
  auto all = storage::list_api_keys(conn, "");
  REQUIRE(all);
  CHECK(all->empty());
}
