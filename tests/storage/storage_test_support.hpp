#pragma once
/// Helpers shared by the storage tests: one fresh database per test case on
/// the process's PostgreSQL cluster, and plain libpqxx for looking behind
/// the API's back.
#include <atomic>
#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "tests/support/pg_server.hpp"

namespace troupe::storage::testing {

inline std::string
fresh_database(troupe::test::pg_server& server = troupe::test::shared_pg_server()) {
  static std::atomic<int> counter{0};
  return server.create_database("storage_test_" + std::to_string(counter++));
}

/// The first field of the first row, "<null>" for NULL, "<none>" for no row.
inline std::string scalar(const std::string& url, const std::string& sql) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  auto r = tx.exec(sql);
  if (r.empty())
    return "<none>";
  return r[0][0].is_null() ? "<null>" : r[0][0].as<std::string>();
}

inline bool table_exists(const std::string& url, const std::string& table) {
  return scalar(url, "SELECT to_regclass('" + table + "')") != "<null>";
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace troupe::storage::testing
