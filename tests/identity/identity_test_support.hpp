#pragma once
/// A fresh, migrated database per test on the process's PostgreSQL cluster.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "storage/connection.hpp"
#include "storage/migrations.hpp"
#include "tests/support/pg_server.hpp"

namespace troupe::identity_test {

inline std::string migrated_database() {
  static std::atomic<int> counter{0};
  auto url = test::shared_pg_server().create_database("identity_test_" + std::to_string(counter++));
  auto report = storage::migrate(url, storage::builtin_migrations(), std::chrono::seconds{5});
  REQUIRE(report);
  return url;
}

inline storage::connection open_session(const std::string& url) {
  auto conn = storage::connection::open(url, std::chrono::seconds{5});
  REQUIRE(conn);
  return std::move(*conn);
}

} // namespace troupe::identity_test
