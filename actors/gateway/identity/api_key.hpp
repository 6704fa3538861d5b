#pragma once
/// Gateway API keys: `trp_<key id>_<secret>`, both parts base62 drawn from
/// OpenSSL's CSPRNG. The 12-character key id is the row's primary key, fine
/// to show and log; the 43-character secret (256 bits) is shown once, when
/// the key is issued, and kept only as its SHA-256.
#include <caf/expected.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.hpp"

namespace troupe::gateway::identity {

inline constexpr std::string_view api_key_prefix = "trp_";
inline constexpr size_t api_key_id_chars = 12;
inline constexpr size_t api_key_secret_chars = 43;

/// A key as a client presented it: views into the text it was parsed from.
struct api_key_view {
  std::string_view key_id;
  std::string_view secret;
};

/// The parts of `text`, or nullopt unless it is exactly
/// `trp_` + 12 base62 + `_` + 43 base62.
[[nodiscard]] std::optional<api_key_view> parse_api_key(std::string_view text) noexcept;

/// What the store keeps of a secret: its SHA-256, 32 raw bytes.
[[nodiscard]] std::string hash_api_key_secret(std::string_view secret);

/// True when `secret` hashes to `stored_sha256`; compared in constant time.
[[nodiscard]] bool api_key_secret_matches(std::string_view secret,
                                          std::string_view stored_sha256) noexcept;

struct issued_api_key {
  std::string key_id;
  std::string full_key; // the only time the secret exists outside the client
};

/// Makes a fresh key for `tenant`/`user` and stores its row. Blocking.
/// errc::invalid_argument when the tenant is not a bus subject token
/// ([A-Za-z0-9_-]+), the user is empty, or a role is empty;
/// errc::random_failed when the CSPRNG fails; storage errors as they come.
[[nodiscard]] caf::expected<issued_api_key>
issue_api_key(storage::connection& conn, const std::string& tenant, const std::string& user,
              const std::string& name, const std::vector<std::string>& roles);

} // namespace troupe::gateway::identity
