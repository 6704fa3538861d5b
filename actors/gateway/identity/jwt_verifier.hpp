#pragma once
/// Verifies JSON Web Tokens (compact JWS) issued by the operator's identity
/// provider and turns their claims into the principal the gateway stamps.
///
/// Accepted: `alg` HS256 (shared secret) and EdDSA (Ed25519 public key), each
/// only when its key is configured, so a token can never pick the key kind
/// (no HS256 token "signed" with the Ed25519 public key). Everything else is
/// refused: `none`, HS384, RS256, a missing or unknown `alg`, `crit` headers.
/// Claims: `exp` required, `nbf` honoured, both with a leeway; `iss` and `aud`
/// (string or array) when configured; the tenant claim (`tenant` unless
/// configured otherwise, a bus subject token) and `sub` required; `roles` an
/// optional array of strings. A verifier pinned to one tenant refuses tokens
/// of any other and gives tokens without a tenant claim the pinned tenant.
///
/// Thread safety: immutable once made; `verify` may run on any thread at once.
#include <caf/expected.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "actors/gateway/chat_backend.hpp"

namespace troupe::gateway::identity {

struct jwt_options {
  /// HS256 key, raw bytes, at least 32; empty: HS256 tokens are refused.
  std::string hs256_secret;
  /// Ed25519 public key as PEM ("BEGIN PUBLIC KEY"); empty: EdDSA tokens are refused.
  std::string ed25519_public_key_pem;
  /// The required `iss`; empty: not checked.
  std::string issuer;
  /// The audience `aud` must name; empty: not checked.
  std::string audience;
  /// Clock skew allowed on `exp` and `nbf`.
  std::chrono::seconds leeway{30};
  /// The claim naming the tenant; identity providers differ (Azure AD: `tid`).
  std::string tenant_claim = "tenant";
  /// Single-tenant pinning. Empty: multi-tenant, every token names its
  /// tenant. Set: a token naming another tenant is refused 403
  /// `tenant_mismatch`, and one without the tenant claim acts for this tenant
  /// (single-tenant identity providers send none).
  std::string tenant{};
};

class jwt_verifier {
public:
  /// Larger tokens are refused before any decoding.
  static constexpr size_t max_token_bytes = 8192;
  static constexpr size_t min_hs256_secret_bytes = 32;

  /// errc::options_invalid without any key, with a leeway out of range, a
  /// tenant claim name that is empty, over 512 bytes or holds control
  /// characters, or a pinned tenant that is not a bus subject token;
  /// errc::key_invalid for a short secret or a PEM without an Ed25519
  /// public key.
  [[nodiscard]] static caf::expected<jwt_verifier> make(jwt_options opts);

  /// The principal `token` carries at `now`, or 401 `invalid_token` whose
  /// message says why (expired, not yet valid, bad signature, alg not
  /// allowed, wrong audience, wrong issuer, a missing claim, malformed), or
  /// 403 `tenant_mismatch` when pinned and the token names another tenant.
  [[nodiscard]] result<troupe::v1::Principal>
  verify(std::string_view token, std::chrono::system_clock::time_point now) const;

  /// The pinned tenant; empty when multi-tenant.
  [[nodiscard]] const std::string& tenant() const noexcept;

private:
  struct impl;
  explicit jwt_verifier(std::shared_ptr<const impl> p) noexcept;
  std::shared_ptr<const impl> impl_;
};

/// Where an operator keeps the keys: the secret file holds the raw bytes
/// (its exact content: no trailing newline is stripped), the public key file
/// a PEM. An empty path leaves that key unset.
struct jwt_key_files {
  std::string hs256_secret_file;
  std::string ed25519_public_key_file;
};

/// Reads the key files into `opts` and makes the verifier. Errors name the
/// file: errc::key_unreadable when it cannot be read, otherwise as make().
[[nodiscard]] caf::expected<jwt_verifier> load_jwt_verifier(const jwt_key_files& files,
                                                            jwt_options opts);

} // namespace troupe::gateway::identity
