#include "storage/node_store.hpp"

#include <nlohmann/json.hpp>

#include "storage/connection_impl.hpp"

namespace troupe::storage {

namespace {

constexpr const char* upsert_sql = R"sql(
INSERT INTO troupe_nodes AS n (node_id, cluster, roles, version, admin_url, started_at, last_seen)
VALUES ($1, $2, ARRAY(SELECT json_array_elements_text($3::json)), NULLIF($4, ''), $5,
        CASE WHEN $6::bigint > 0 THEN to_timestamp(($6::bigint - $7::bigint) / 1000.0)
             ELSE now() - $7::bigint * interval '1 millisecond' END,
        CASE WHEN $6::bigint > 0 THEN to_timestamp($6::bigint / 1000.0) ELSE now() END)
ON CONFLICT (node_id) DO UPDATE SET
  cluster    = EXCLUDED.cluster,
  roles      = EXCLUDED.roles,
  version    = COALESCE(EXCLUDED.version, n.version),
  admin_url  = EXCLUDED.admin_url,
  started_at = EXCLUDED.started_at,
  last_seen  = EXCLUDED.last_seen)sql";

constexpr const char* find_sql = R"sql(
SELECT node_id, cluster, roles, COALESCE(version, ''), COALESCE(admin_url, ''),
       COALESCE((extract(epoch FROM started_at) * 1000)::bigint, 0),
       COALESCE((extract(epoch FROM last_seen) * 1000)::bigint, 0)
FROM troupe_nodes WHERE node_id = $1)sql";

std::vector<std::string> parse_text_array(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null())
    return out;
  auto parser = f.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
       item = parser.get_next())
    if (item.first == pqxx::array_parser::string_value)
      out.push_back(std::move(item.second));
  return out;
}

caf::error unusable(const connection::impl& c) {
  return make_error(errc::unreachable,
                    "the connection to PostgreSQL at " + c.endpoint + " was lost earlier");
}

} // namespace

caf::error upsert_node(connection& conn, const troupe::v1::Heartbeat& hb,
                       std::string_view version) {
  if (hb.node_id().empty())
    return make_error(errc::query_failed, "refusing a heartbeat without node_id");
  auto& c = conn.native();
  if (c.broken)
    return unusable(c);
  auto what = "recording the heartbeat of node '" + hb.node_id() + "'";
  try {
    auto roles = nlohmann::json(std::vector<std::string>(hb.roles().begin(), hb.roles().end()));
    pqxx::work tx{c.conn};
    tx.exec_params(upsert_sql, hb.node_id(), hb.cluster(), roles.dump(), std::string{version},
                   hb.admin_url(), hb.at_unix_ms(), std::max<int64_t>(hb.uptime_ms(), 0));
    tx.commit();
    return caf::none;
  } catch (...) {
    return current_error(c, errc::query_failed, what);
  }
}

caf::expected<std::optional<node_record>> find_node(connection& conn, const std::string& node_id) {
  auto& c = conn.native();
  if (c.broken)
    return unusable(c);
  try {
    pqxx::read_transaction tx{c.conn};
    auto r = tx.exec_params(find_sql, node_id);
    tx.commit();
    if (r.empty())
      return std::optional<node_record>{};
    const auto& row = r[0];
    node_record rec;
    rec.node_id = row[0].as<std::string>();
    rec.cluster = row[1].as<std::string>();
    rec.roles = parse_text_array(row[2]);
    rec.version = row[3].as<std::string>();
    rec.admin_url = row[4].as<std::string>();
    rec.started_unix_ms = row[5].as<int64_t>();
    rec.last_seen_unix_ms = row[6].as<int64_t>();
    return std::optional<node_record>{std::move(rec)};
  } catch (...) {
    return current_error(c, errc::query_failed, "reading node '" + node_id + "'");
  }
}

} // namespace troupe::storage
