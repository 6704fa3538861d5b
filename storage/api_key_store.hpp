#pragma once
/// The troupe_api_keys table: the gateway's API keys, each stored as the
/// SHA-256 of its secret, never the secret itself. Making a key (the random
/// secret, its text form) is the gateway's job (actors/gateway/identity/
/// api_key.hpp); this store only keeps rows. Blocking, like every call on a
/// `connection`.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/connection.hpp"

namespace troupe::storage {

struct api_key_record {
  std::string key_id;
  std::string tenant;
  std::string user_id;
  std::string name;
  std::string secret_sha256; // 32 raw bytes
  std::vector<std::string> roles;
  int64_t created_unix_ms = 0;   // set by the database on insert
  int64_t last_used_unix_ms = 0; // 0: never used
  int64_t revoked_unix_ms = 0;   // 0: not revoked
  bool revoked() const noexcept { return revoked_unix_ms != 0; }
};

/// Inserts `rec` (its timestamps are ignored: created now, never used, not
/// revoked). errc::query_failed for an empty key_id, tenant or user_id, a
/// hash that is not 32 bytes, or a key_id that already exists.
[[nodiscard]] caf::error create_api_key(connection& conn, const api_key_record& rec);

/// The row of `key_id`, revoked or not; nullopt when there is none.
[[nodiscard]] caf::expected<std::optional<api_key_record>> find_api_key(connection& conn,
                                                                        const std::string& key_id);

/// The rows of `tenant` (every tenant when empty), oldest first.
[[nodiscard]] caf::expected<std::vector<api_key_record>> list_api_keys(connection& conn,
                                                                       const std::string& tenant);

/// Marks `key_id` revoked; revoking twice keeps the first time. False when
/// there is no such key.
[[nodiscard]] caf::expected<bool> revoke_api_key(connection& conn, const std::string& key_id);

/// Sets last_used_at to now (a no-op for an unknown key).
[[nodiscard]] caf::error touch_api_key(connection& conn, const std::string& key_id);

} // namespace troupe::storage
