#include <climits>
#include <map>

#include "common/logging.hpp"
#include "storage/connection_impl.hpp"
#include "storage/conninfo.hpp"
#include "storage/migrations.hpp"

namespace troupe::storage {

namespace {

struct applied_row {
  std::string name;
  std::string checksum;
};
using applied_map = std::map<int, applied_row>;

constexpr const char* create_table = R"sql(
CREATE TABLE IF NOT EXISTS troupe_schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

const std::string lock_key = std::to_string(migration_lock_key);

std::string label(const migration& m) {
  return std::to_string(m.version) + " (" + m.name + ")";
}

bool table_exists(pqxx::transaction_base& tx) {
  return !tx.exec("SELECT to_regclass('troupe_schema_migrations')")[0][0].is_null();
}

applied_map read_applied(pqxx::transaction_base& tx) {
  applied_map out;
  for (const auto& row : tx.exec("SELECT version, name, checksum FROM troupe_schema_migrations"))
    out[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
  return out;
}

/// Session-level, so it outlives the transaction that took it; SET LOCAL
/// keeps the lock_timeout from leaking into the migrations themselves.
caf::error acquire_lock(connection::impl& c, std::chrono::seconds lock_timeout) {
  auto busy = [&] {
    return make_error(errc::lock_timeout,
                      "another process held the migration lock (pg_advisory_lock " + lock_key
                          + ") on " + c.endpoint + " for more than "
                          + std::to_string(lock_timeout.count()) + " s");
  };
  try {
    pqxx::work tx{c.conn};
    if (lock_timeout.count() <= 0) {
      if (!tx.exec("SELECT pg_try_advisory_lock(" + lock_key + ")")[0][0].as<bool>())
        return busy();
    } else {
      auto ms = std::min<long long>(static_cast<long long>(lock_timeout.count()) * 1000, INT_MAX);
      tx.exec("SET LOCAL lock_timeout = " + std::to_string(ms));
      tx.exec("SELECT pg_advisory_lock(" + lock_key + ")");
    }
    tx.commit();
    return caf::none;
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "55P03" && c.conn.is_open())
      return busy();
    return current_error(c, errc::query_failed, "taking the migration lock");
  } catch (...) {
    return current_error(c, errc::query_failed, "taking the migration lock");
  }
}

/// Releases the lock on every path; a lost session released it already.
class lock_release {
public:
  explicit lock_release(connection::impl& c) : c_(c) {}
  lock_release(const lock_release&) = delete;
  lock_release& operator=(const lock_release&) = delete;
  ~lock_release() {
    if (c_.broken || !c_.conn.is_open())
      return;
    try {
      pqxx::nontransaction tx{c_.conn};
      tx.exec("SELECT pg_advisory_unlock(" + lock_key + ")");
    } catch (...) {
      (void)current_error(c_, errc::query_failed, "releasing the migration lock");
    }
  }

private:
  connection::impl& c_;
};

caf::error check_checksums(const std::vector<migration>& ms, const applied_map& applied) {
  for (const auto& m : ms) {
    auto i = applied.find(m.version);
    if (i == applied.end())
      continue;
    auto now = checksum(m.sql);
    if (i->second.checksum != now)
      return make_error(errc::checksum_mismatch,
                        "migration " + label(m) + " was changed after it was applied (recorded as '"
                            + i->second.name + "', checksum " + i->second.checksum.substr(0, 12)
                            + "..., this build has " + now.substr(0, 12)
                            + "...): never edit an applied migration, add a new one");
  }
  return caf::none;
}

caf::error unusable(const connection::impl& c) {
  return make_error(errc::unreachable,
                    "the connection to PostgreSQL at " + c.endpoint + " was lost earlier");
}

} // namespace

caf::error validate(const std::vector<migration>& ms) {
  int previous = 0;
  for (const auto& m : ms) {
    if (m.version <= 0)
      return make_error(errc::migration_failed, "migration " + label(m) + ": versions start at 1");
    if (m.version <= previous)
      return make_error(errc::migration_failed,
                        "migration " + label(m) + " follows version " + std::to_string(previous)
                            + ": versions must be unique and strictly increasing");
    if (m.sql.find_first_not_of(" \t\r\n") == std::string::npos)
      return make_error(errc::migration_failed, "migration " + label(m) + " has no SQL");
    previous = m.version;
  }
  return caf::none;
}

caf::expected<migration_report> migrate(const std::string& url, const std::vector<migration>& ms,
                                        std::chrono::seconds lock_timeout) {
  if (auto err = validate(ms))
    return err;
  auto conn = connection::open(url, std::chrono::seconds{0});
  if (!conn)
    return conn.error();
  return migrate(*conn, ms, lock_timeout);
}

caf::expected<migration_report> migrate(connection& conn, const std::vector<migration>& ms,
                                        std::chrono::seconds lock_timeout) {
  if (auto err = validate(ms))
    return err;
  auto& c = conn.native();
  if (c.broken)
    return unusable(c);
  if (auto err = acquire_lock(c, lock_timeout))
    return err;
  lock_release release{c};
  applied_map applied;
  try {
    pqxx::work tx{c.conn};
    tx.exec(create_table);
    applied = read_applied(tx);
    tx.commit();
  } catch (...) {
    return current_error(c, errc::query_failed, "reading troupe_schema_migrations");
  }
  if (auto err = check_checksums(ms, applied))
    return err;
  migration_report report;
  for (const auto& m : ms) {
    if (applied.count(m.version) != 0)
      continue;
    auto sum = checksum(m.sql);
    try {
      pqxx::work tx{c.conn};
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO troupe_schema_migrations (version, name, checksum) "
                     "VALUES ($1, $2, $3)",
                     m.version, m.name, sum);
      tx.commit();
    } catch (...) {
      return current_error(c, errc::migration_failed, "migration " + label(m) + " failed");
    }
    log::get("storage")->info("applied migration {} on {}", label(m), c.endpoint);
    applied[m.version] = {m.name, std::move(sum)};
    report.applied.push_back(m.version);
  }
  report.schema_version = applied.empty() ? 0 : applied.rbegin()->first;
  return report;
}

caf::expected<schema_state> inspect_schema(connection& conn, const std::vector<migration>& ms) {
  auto& c = conn.native();
  if (c.broken)
    return unusable(c);
  applied_map applied;
  try {
    pqxx::read_transaction tx{c.conn};
    if (table_exists(tx))
      applied = read_applied(tx);
    tx.commit();
  } catch (...) {
    return current_error(c, errc::query_failed, "reading troupe_schema_migrations");
  }
  schema_state out;
  out.schema_version = applied.empty() ? 0 : applied.rbegin()->first;
  for (const auto& m : ms) {
    auto i = applied.find(m.version);
    if (i == applied.end())
      out.pending.push_back(m.version);
    else if (i->second.checksum != checksum(m.sql))
      out.changed.push_back(m.version);
  }
  return out;
}

} // namespace troupe::storage
