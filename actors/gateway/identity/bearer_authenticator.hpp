#pragma once
/// The gateway's authenticator for production: `Authorization: Bearer
/// <token>`, where a token starting with `trp_` is an API key and anything
/// else a JWT.
///
/// JWTs are verified inline, on the caller's thread. API keys are checked
/// against a cache (api_key_cache) and, on a miss, read from PostgreSQL on the
/// lookup thread (api_key_lookup); `done` then runs there. Answers:
/// 401 `unauthenticated` (no usable header), 401 `invalid_token` (a token or
/// key that does not verify, or a revoked key), 503 `auth_unavailable` (the
/// key store is down or too many lookups wait), 403 `tenant_mismatch` /
/// `user_mismatch` (identity headers naming someone else, or a JWT or API key
/// of a tenant other than the pinned one).
#include <caf/expected.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>

#include "actors/gateway/authenticator.hpp"
#include "actors/gateway/identity/api_key_lookup.hpp"
#include "actors/gateway/identity/jwt_verifier.hpp"
#include "actors/gateway/identity/principal_stamp.hpp"

namespace troupe::gateway::identity {

struct bearer_options {
  /// nullopt: JWTs are refused.
  std::optional<jwt_verifier> jwt;
  /// An empty database_url: API keys are refused.
  api_key_lookup::options api_keys;
  /// How long a key read from the store is believed: the longest a
  /// revocation takes to reach this node.
  std::chrono::milliseconds cache_ttl{30'000};
  /// How long "no such key" is believed.
  std::chrono::milliseconds negative_cache_ttl{5'000};
  size_t cache_capacity = 10'000;
  /// The clock the cache TTLs are measured on; tests step it by hand.
  std::function<std::chrono::steady_clock::time_point()> cache_clock =
      std::chrono::steady_clock::now;
  /// Lifetime of the principal stamped for an API key.
  std::chrono::milliseconds principal_ttl{default_principal_ttl};
  /// Single-tenant pinning: an API key stored for another tenant is refused
  /// 403 `tenant_mismatch`. Must equal the JWT verifier's pinned tenant
  /// (jwt_options::tenant), so that both kinds of token obey one pin.
  /// Empty: multi-tenant.
  std::string tenant;
};

/// errc::options_invalid when neither JWTs nor API keys are enabled, a TTL,
/// capacity or queue size is out of range, or the pinned tenant is not a bus
/// subject token or differs from the JWT verifier's.
[[nodiscard]] caf::expected<authenticator_ptr> make_bearer_authenticator(bearer_options opts);

} // namespace troupe::gateway::identity
