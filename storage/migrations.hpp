#pragma once
/// Versioned schema migrations: plain SQL files (storage/migrations/NNNN_name.sql)
/// compiled into the library, applied in version order, each exactly once per
/// database, under an advisory lock so that nodes starting together do not race.
///
/// Blocking: call from a plain thread or a `caf::detached` actor.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.hpp"

namespace troupe::storage {

struct migration {
  int version;
  std::string name;
  std::string sql;
};

/// The migrations of this build (storage/migrations/*.sql), ascending.
const std::vector<migration>& builtin_migrations();

struct migration_report {
  std::vector<int> applied; // applied by this call, ascending
  int schema_version = 0;   // highest version recorded in the database afterwards
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, migration_report& x) {
  return f(caf::meta::type_name("migration_report"), x.applied, x.schema_version);
}

/// The session-level advisory lock key every migrate() call takes
/// ("troupe" in ASCII), so operators can see who holds it in pg_locks.
constexpr int64_t migration_lock_key = 0x74726f757065;

/// The lowercase hex SHA-256 of `sql`: what troupe_schema_migrations records.
std::string checksum(std::string_view sql);

/// Refuses lists a database could not be migrated by: versions must be
/// positive and strictly increasing, and no migration may be empty.
[[nodiscard]] caf::error validate(const std::vector<migration>& ms);

/// Applies every migration of `ms` that `url`'s database lacks. Each runs in
/// its own transaction together with its troupe_schema_migrations row, so a
/// failing one leaves nothing behind (earlier ones of the same call stay).
/// Waits at most `lock_timeout` for another migrator (0: do not wait).
/// Errors: invalid_url, unreachable, lock_timeout, checksum_mismatch (an
/// applied version whose text changed), migration_failed (names the version
/// and PostgreSQL's message; also an invalid list).
[[nodiscard]] caf::expected<migration_report> migrate(const std::string& url,
                                                      const std::vector<migration>& ms,
                                                      std::chrono::seconds lock_timeout);

/// The same on a session the caller owns (the storage actor).
[[nodiscard]] caf::expected<migration_report>
migrate(connection& conn, const std::vector<migration>& ms, std::chrono::seconds lock_timeout);

/// How a database compares with a list of migrations, without changing it.
struct schema_state {
  int schema_version = 0;   // highest applied version, 0 for an empty database
  std::vector<int> pending; // versions of the list not applied yet
  std::vector<int> changed; // applied versions whose checksum differs from the list
  bool up_to_date() const noexcept { return pending.empty() && changed.empty(); }
};

[[nodiscard]] caf::expected<schema_state> inspect_schema(connection& conn,
                                                         const std::vector<migration>& ms);

} // namespace troupe::storage
