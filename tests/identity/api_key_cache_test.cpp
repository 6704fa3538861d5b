#include <catch2/catch.hpp>

#include "actors/gateway/identity/api_key_cache.hpp"

using namespace troupe::gateway::identity;
using namespace std::chrono_literals;

namespace {

known_api_key row(std::string tenant) {
  auto rec = std::make_shared<troupe::storage::api_key_record>();
  rec->tenant = std::move(tenant);
  return rec;
}

const auto t0 = api_key_cache::clock::time_point{} + 1h;

} // namespace

TEST_CASE("a cached key is believed for its TTL, then the store must be asked again") {
  api_key_cache cache{1000ms, 100ms, 10};
  CHECK_FALSE(cache.find("k", t0));
  cache.put("k", row("acme"), t0);
  auto hit = cache.find("k", t0 + 999ms);
  REQUIRE(hit);
  CHECK((*hit)->tenant == "acme");
  CHECK_FALSE(cache.find("k", t0 + 1000ms));
  CHECK(cache.size() == 0);
}

TEST_CASE("an absent key is believed only for the shorter negative TTL") {
  api_key_cache cache{1000ms, 100ms, 10};
  cache.put("ghost", nullptr, t0);
  auto hit = cache.find("ghost", t0 + 50ms);
  REQUIRE(hit);
  CHECK(*hit == nullptr);
  CHECK_FALSE(cache.find("ghost", t0 + 100ms));
}

TEST_CASE("a newer answer replaces the cached one") {
  api_key_cache cache{1000ms, 100ms, 10};
  cache.put("k", nullptr, t0);
  cache.put("k", row("acme"), t0 + 10ms);
  auto hit = cache.find("k", t0 + 500ms);
  REQUIRE(hit);
  REQUIRE(*hit);
  CHECK((*hit)->tenant == "acme");
}

TEST_CASE("the cache never holds more than its capacity, dropping expired entries first") {
  api_key_cache cache{1000ms, 100ms, 3};
  cache.put("old", nullptr, t0);
  cache.put("a", row("a"), t0 + 200ms);
  cache.put("b", row("b"), t0 + 200ms);
  cache.put("c", row("c"), t0 + 200ms); // "old" has expired: it makes the room
  CHECK(cache.size() == 3);
  CHECK(cache.find("a", t0 + 300ms));
  CHECK(cache.find("c", t0 + 300ms));
  for (int i = 0; i < 100; ++i)
    cache.put("k" + std::to_string(i), row("x"), t0 + 300ms);
  CHECK(cache.size() == 3);
}
