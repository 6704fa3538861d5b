#include "storage/api_key_store.hpp"

#include <nlohmann/json.hpp>

#include "storage/connection_impl.hpp"

namespace troupe::storage {

namespace {

constexpr const char* insert_sql = R"sql(
INSERT INTO troupe_api_keys (key_id, tenant, user_id, name, secret_sha256, roles)
VALUES ($1, $2, $3, $4, $5, ARRAY(SELECT json_array_elements_text($6::json))))sql";

// Roles travel as JSON both ways so no text[] literal is ever parsed by hand.
constexpr const char* columns_sql = R"sql(
SELECT key_id, tenant, user_id, name, secret_sha256, array_to_json(roles)::text,
       (extract(epoch FROM created_at) * 1000)::bigint,
       COALESCE((extract(epoch FROM last_used_at) * 1000)::bigint, 0),
       COALESCE((extract(epoch FROM revoked_at) * 1000)::bigint, 0)
FROM troupe_api_keys )sql";

constexpr const char* revoke_sql = R"sql(
UPDATE troupe_api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE key_id = $1)sql";

constexpr const char* touch_sql = R"sql(
UPDATE troupe_api_keys SET last_used_at = now() WHERE key_id = $1)sql";

api_key_record to_record(const pqxx::row& row) {
  api_key_record rec;
  rec.key_id = row[0].as<std::string>();
  rec.tenant = row[1].as<std::string>();
  rec.user_id = row[2].as<std::string>();
  rec.name = row[3].as<std::string>();
  rec.secret_sha256 = pqxx::binarystring{row[4]}.str();
  rec.roles = nlohmann::json::parse(row[5].as<std::string>()).get<std::vector<std::string>>();
  rec.created_unix_ms = row[6].as<int64_t>();
  rec.last_used_unix_ms = row[7].as<int64_t>();
  rec.revoked_unix_ms = row[8].as<int64_t>();
  return rec;
}

/// Runs `body` on the session, turning whatever it throws into a storage
/// error. A session lost earlier is refused before any I/O: ping() fails fast
/// on a broken session with the reason it broke.
template <class Body>
auto run(connection& conn, const std::string& what, Body&& body) -> decltype(body(conn.native())) {
  if (conn.broken())
    return conn.ping();
  try {
    return body(conn.native());
  } catch (...) {
    return current_error(conn.native(), errc::query_failed, what);
  }
}

} // namespace

caf::error create_api_key(connection& conn, const api_key_record& rec) {
  if (rec.key_id.empty() || rec.tenant.empty() || rec.user_id.empty())
    return make_error(errc::query_failed, "refusing an API key without key id, tenant or user");
  if (rec.secret_sha256.size() != 32)
    return make_error(errc::query_failed, "refusing an API key whose hash is not 32 bytes");
  return run(conn, "creating API key '" + rec.key_id + "'", [&](connection::impl& c) {
    pqxx::work tx{c.conn};
    tx.exec_params(insert_sql, rec.key_id, rec.tenant, rec.user_id, rec.name,
                   pqxx::binarystring{rec.secret_sha256}, nlohmann::json(rec.roles).dump());
    tx.commit();
    return caf::error{};
  });
}

caf::expected<std::optional<api_key_record>> find_api_key(connection& conn,
                                                          const std::string& key_id) {
  using found = caf::expected<std::optional<api_key_record>>;
  return run(conn, "reading API key '" + key_id + "'", [&](connection::impl& c) -> found {
    pqxx::read_transaction tx{c.conn};
    auto r = tx.exec_params(std::string{columns_sql} + "WHERE key_id = $1", key_id);
    tx.commit();
    if (r.empty())
      return std::optional<api_key_record>{};
    return std::optional<api_key_record>{to_record(r[0])};
  });
}

caf::expected<std::vector<api_key_record>> list_api_keys(connection& conn,
                                                         const std::string& tenant) {
  using listed = caf::expected<std::vector<api_key_record>>;
  return run(conn, "listing API keys", [&](connection::impl& c) -> listed {
    pqxx::read_transaction tx{c.conn};
    auto r = tx.exec_params(std::string{columns_sql}
                                + "WHERE $1 = '' OR tenant = $1 ORDER BY created_at, key_id",
                            tenant);
    tx.commit();
    std::vector<api_key_record> out;
    out.reserve(r.size());
    for (const auto& row : r)
      out.push_back(to_record(row));
    return out;
  });
}

caf::expected<bool> revoke_api_key(connection& conn, const std::string& key_id) {
  return run(conn, "revoking API key '" + key_id + "'",
             [&](connection::impl& c) -> caf::expected<bool> {
               pqxx::work tx{c.conn};
               auto r = tx.exec_params(revoke_sql, key_id);
               tx.commit();
               return r.affected_rows() > 0;
             });
}

caf::error touch_api_key(connection& conn, const std::string& key_id) {
  return run(conn, "recording the use of API key '" + key_id + "'", [&](connection::impl& c) {
    pqxx::work tx{c.conn};
    tx.exec_params(touch_sql, key_id);
    tx.commit();
    return caf::error{};
  });
}

} // namespace troupe::storage
