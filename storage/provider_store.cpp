#include "storage/provider_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "storage/connection_impl.hpp"

namespace troupe::storage {

namespace {

constexpr const char* provider_columns = R"sql(
  name, kind, base_url, api_key_sealed, array_to_json(models)::text,
  (extract(epoch FROM created_at) * 1000)::bigint, (extract(epoch FROM updated_at) * 1000)::bigint)sql";

// $4 says whether $5 is a new key: an absent key keeps the stored one only
// while the base URL is unchanged.
const std::string upsert_sql = std::string{R"sql(
INSERT INTO troupe_providers AS p (name, kind, base_url, api_key_sealed, models)
VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN $5::bytea END,
        ARRAY(SELECT json_array_elements_text($6::json)))
ON CONFLICT (name) DO UPDATE SET
  kind           = EXCLUDED.kind,
  base_url       = EXCLUDED.base_url,
  models         = EXCLUDED.models,
  api_key_sealed = CASE WHEN $4::boolean THEN EXCLUDED.api_key_sealed
                        WHEN p.base_url = EXCLUDED.base_url THEN p.api_key_sealed END,
  updated_at     = now()
RETURNING )sql"} + provider_columns;

const std::string list_providers_sql =
  std::string{"SELECT "} + provider_columns + " FROM troupe_providers ORDER BY name";

constexpr const char* list_roles_sql = R"sql(
SELECT role, model, (extract(epoch FROM updated_at) * 1000)::bigint
FROM troupe_model_roles ORDER BY role)sql";

constexpr const char* delete_provider_sql =
  "DELETE FROM troupe_providers WHERE name = $1 RETURNING array_to_json(models)::text";

// Runs after the delete in the same transaction: the remaining providers are
// the ones that could still serve a role's bare model id.
constexpr const char* dangling_roles_sql = R"sql(
SELECT role FROM troupe_model_roles r
WHERE starts_with(r.model, $1 || '/')
   OR (r.model IN (SELECT json_array_elements_text($2::json))
       AND NOT EXISTS (SELECT 1 FROM troupe_providers o WHERE r.model = ANY(o.models)))
ORDER BY role)sql";

constexpr const char* set_role_sql = R"sql(
INSERT INTO troupe_model_roles (role, model) VALUES ($1, $2)
ON CONFLICT (role) DO UPDATE SET model = EXCLUDED.model, updated_at = now())sql";

std::vector<std::string> parse_models(const pqxx::field& f) {
  return nlohmann::json::parse(f.as<std::string>()).get<std::vector<std::string>>();
}

provider_record to_provider(const pqxx::row& row) {
  provider_record p;
  p.name = row[0].as<std::string>();
  p.kind = row[1].as<std::string>();
  p.base_url = row[2].as<std::string>();
  if (!row[3].is_null())
    p.api_key_sealed = pqxx::binarystring{row[3]}.str();
  p.models = parse_models(row[4]);
  p.created_unix_ms = row[5].as<int64_t>();
  p.updated_unix_ms = row[6].as<int64_t>();
  return p;
}

std::vector<provider_record> read_providers(pqxx::transaction_base& tx) {
  std::vector<provider_record> out;
  for (const auto& row : tx.exec(list_providers_sql))
    out.push_back(to_provider(row));
  return out;
}

std::vector<role_record> read_roles(pqxx::transaction_base& tx) {
  std::vector<role_record> out;
  for (const auto& row : tx.exec(list_roles_sql))
    out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<int64_t>()});
  return out;
}

/// Runs `body` on the session, mapping a lost session and every exception
/// to a storage error that starts with `what`.
template <class Body>
auto guarded(connection& conn, const std::string& what, Body&& body)
  -> caf::expected<std::invoke_result_t<Body, pqxx::connection&>> {
  auto& c = conn.native();
  if (c.broken)
    return make_error(errc::unreachable, what + ": the session to " + c.endpoint + " was lost");
  try {
    return body(c.conn);
  } catch (...) {
    return current_error(c, errc::query_failed, what);
  }
}

caf::error refuse(const std::string& why) {
  return make_error(errc::query_failed, "refusing " + why);
}

} // namespace

bool valid_registry_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool valid_model_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 256 && std::all_of(id.begin(), id.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != ',';
  });
}

caf::expected<provider_record> upsert_provider(connection& conn, const provider_record& p) {
  if (!valid_registry_name(p.name))
    return refuse("provider name '" + p.name + "': use 1 to 64 of a-z, 0-9, '_' and '-'");
  if (p.kind.empty() || p.base_url.empty())
    return refuse("provider '" + p.name + "' without a kind or base URL");
  for (const auto& m : p.models)
    if (!valid_model_id(m))
      return refuse("model id '" + m + "' of provider '" + p.name + "'");
  return guarded(conn, "storing provider '" + p.name + "'", [&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto r = tx.exec_params1(upsert_sql, p.name, p.kind, p.base_url, p.has_key(),
                             pqxx::binarystring{p.api_key_sealed},
                             nlohmann::json(p.models).dump());
    auto stored = to_provider(r);
    tx.commit();
    return stored;
  });
}

caf::expected<std::vector<provider_record>> list_providers(connection& conn) {
  return guarded(conn, "listing providers", [](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    auto out = read_providers(tx);
    tx.commit();
    return out;
  });
}

caf::expected<provider_removal> remove_provider(connection& conn, const std::string& name) {
  return guarded(conn, "removing provider '" + name + "'", [&](pqxx::connection& c) {
    pqxx::work tx{c};
    provider_removal out;
    auto gone = tx.exec_params(delete_provider_sql, name);
    if (!gone.empty()) {
      out.removed = true;
      for (const auto& row : tx.exec_params(dangling_roles_sql, name, gone[0][0].as<std::string>()))
        out.dangling_roles.push_back(row[0].as<std::string>());
    }
    tx.commit();
    return out;
  });
}

caf::error set_role(connection& conn, const std::string& role, const std::string& model) {
  if (!valid_registry_name(role))
    return refuse("role name '" + role + "': use 1 to 64 of a-z, 0-9, '_' and '-'");
  if (!valid_model_id(model))
    return refuse("model '" + model + "' for role '" + role + "'");
  auto done = guarded(conn, "setting role '" + role + "'", [&](pqxx::connection& c) {
    pqxx::work tx{c};
    tx.exec_params(set_role_sql, role, model);
    tx.commit();
    return true;
  });
  return done ? caf::none : done.error();
}

caf::expected<std::vector<role_record>> list_roles(connection& conn) {
  return guarded(conn, "listing roles", [](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    auto out = read_roles(tx);
    tx.commit();
    return out;
  });
}

caf::expected<bool> remove_role(connection& conn, const std::string& role) {
  return guarded(conn, "removing role '" + role + "'", [&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto r = tx.exec_params("DELETE FROM troupe_model_roles WHERE role = $1", role);
    tx.commit();
    return r.affected_rows() > 0;
  });
}

caf::expected<provider_registry> load_registry(connection& conn) {
  return guarded(conn, "reading the provider registry", [](pqxx::connection& c) {
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only>
      tx{c};
    provider_registry out{read_providers(tx), read_roles(tx)};
    tx.commit();
    return out;
  });
}

} // namespace troupe::storage
