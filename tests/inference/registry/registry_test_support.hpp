#pragma once
/// Helpers shared by the provider registry tests: a temporary folder, a
/// fresh migrated database per test case, a peek behind the store's back.
#include <stdlib.h>

#include <atomic>
#include <caf/error.hpp>
#include <caf/message.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <string>

#include "actors/inference/keyring.hpp"
#include "storage/connection.hpp"
#include "storage/migrations.hpp"
#include "storage/provider_store.hpp"
#include "tests/support/pg_server.hpp"

namespace troupe::inference::testing {

/// A folder under /tmp, removed with everything in it.
class temp_dir {
public:
  temp_dir() {
    char tmpl[] = "/tmp/troupe-registry-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out{p, std::ios::binary};
  out << bytes;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// A provider record as the CLI would store it, its key (if any) sealed by `keys`.
inline storage::provider_record provider(const keyring& keys, std::string name, std::string url,
                                         std::vector<std::string> models,
                                         const std::string& key = {}) {
  storage::provider_record p;
  p.name = std::move(name);
  p.base_url = std::move(url);
  p.models = std::move(models);
  if (!key.empty())
    p.api_key_sealed = *keys.seal(key, p.name);
  return p;
}

/// A new database on the process's PostgreSQL cluster with every migration applied.
inline std::string migrated_database() {
  static std::atomic<int> counter{0};
  auto url = troupe::test::shared_pg_server().create_database("registry_test_"
                                                              + std::to_string(counter++));
  auto report = storage::migrate(url, storage::builtin_migrations(), std::chrono::seconds{5});
  if (!report)
    throw std::runtime_error("migrating " + url + " failed");
  return url;
}

/// The human-readable part of `err` ("" when it has none).
inline std::string error_text(const caf::error& err) {
  const auto& ctx = err.context();
  return ctx.size() == 1 && ctx.match_element<std::string>(0) ? ctx.get_as<std::string>(0) : "";
}

/// The stored api_key_sealed bytes of `provider` ("<null>" when NULL).
inline std::string raw_sealed_key(const std::string& url, const std::string& provider) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  auto r = tx.exec_params("SELECT api_key_sealed FROM troupe_providers WHERE name = $1", provider);
  if (r.empty() || r[0][0].is_null())
    return "<null>";
  return pqxx::binarystring{r[0][0]}.str();
}

} // namespace troupe::inference::testing
