#pragma once
/// The troupe_nodes table: one row per node, as its latest heartbeat said.
/// Blocking, like every call on a `connection`.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.hpp"
#include "troupe/v1/node.pb.h"

namespace troupe::storage {

struct node_record {
  std::string node_id;
  std::string cluster;
  std::vector<std::string> roles;
  std::string version; // empty when no version was recorded
  std::string admin_url;
  int64_t started_unix_ms = 0;
  int64_t last_seen_unix_ms = 0;
};

/// Inserts or refreshes the row of `hb.node_id()`. `started_at` is derived
/// as at - uptime; an `at_unix_ms` of 0 means "now". `version` is the build
/// the heartbeat came from (Heartbeat carries none); empty keeps the stored one.
/// errc::query_failed for a heartbeat without node_id or with timestamps
/// PostgreSQL cannot hold; errc::unreachable when the session is gone.
[[nodiscard]] caf::error upsert_node(connection& conn, const troupe::v1::Heartbeat& hb,
                                     std::string_view version);

/// The row of `node_id`, or nullopt.
[[nodiscard]] caf::expected<std::optional<node_record>> find_node(connection& conn,
                                                                  const std::string& node_id);

} // namespace troupe::storage
