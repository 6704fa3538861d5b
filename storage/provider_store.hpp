#pragma once
/// The model provider registry: troupe_providers (where models are served,
/// with the provider's API key sealed by the inference keyring) and
/// troupe_model_roles (role aliases such as "title" -> "openai/gpt-4o-mini").
/// This store only ever sees sealed key bytes. Blocking, like every call on a
/// `connection`.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.hpp"

namespace troupe::storage {

/// Provider and role names: 1 to 64 of [a-z0-9_-].
[[nodiscard]] bool valid_registry_name(std::string_view name) noexcept;

/// Model ids: 1 to 256 printable ASCII characters without spaces or commas
/// ('/' is fine: "meta-llama/Llama-3-8B").
[[nodiscard]] bool valid_model_id(std::string_view id) noexcept;

struct provider_record {
  std::string name;
  std::string kind = "openai";
  std::string base_url;
  /// The key as the keyring sealed it; empty when none is stored.
  std::string api_key_sealed;
  /// The model ids it serves; empty: any model asked for as "name/model".
  std::vector<std::string> models;
  int64_t created_unix_ms = 0;
  int64_t updated_unix_ms = 0;

  bool has_key() const noexcept { return !api_key_sealed.empty(); }
};

struct role_record {
  std::string role;
  std::string model; // a model id or "provider/model"
  int64_t updated_unix_ms = 0;
};

/// Both tables as one consistent snapshot: what model resolution reads.
struct provider_registry {
  std::vector<provider_record> providers; // by name
  std::vector<role_record> roles;         // by role
};

/// Inserts `p` or replaces the stored row's kind, base_url and models. An
/// empty `api_key_sealed` keeps the stored key as long as the base URL stays
/// the same; a new base URL without a new key drops the old one, so a key is
/// never sent to a host it was not given for. Returns the row as stored.
/// errc::query_failed for an invalid name, kind, base URL or model id.
[[nodiscard]] caf::expected<provider_record> upsert_provider(connection& conn,
                                                             const provider_record& p);

/// Every provider, by name.
[[nodiscard]] caf::expected<std::vector<provider_record>> list_providers(connection& conn);

struct provider_removal {
  bool removed = false;
  /// Roles whose model only this provider served ("name/..." or a bare id
  /// no other provider lists): they resolve to nothing now.
  std::vector<std::string> dangling_roles;
};

[[nodiscard]] caf::expected<provider_removal> remove_provider(connection& conn,
                                                              const std::string& name);

/// Points `role` at `model`, replacing what it named before.
/// errc::query_failed for an invalid role name or model id.
[[nodiscard]] caf::error set_role(connection& conn, const std::string& role,
                                  const std::string& model);

/// Every role, by name.
[[nodiscard]] caf::expected<std::vector<role_record>> list_roles(connection& conn);

/// True when `role` existed.
[[nodiscard]] caf::expected<bool> remove_role(connection& conn, const std::string& role);

/// Providers and roles read in one repeatable-read transaction.
[[nodiscard]] caf::expected<provider_registry> load_registry(connection& conn);

} // namespace troupe::storage
