#pragma once
/// Signing and verifying the principal the gateway stamps on an envelope.
/// HMAC-SHA256 over the serialized Principal bytes: the bytes travel as they
/// were signed (SignedPrincipal.principal is `bytes`), so no re-serialization
/// can change what the signature covers. Several keys may be loaded at once
/// (rotation): `sign` uses the most recently added key, `verify` accepts any
/// loaded key by its id.
///
/// Thread safety: `add` must not race with anything; once the keys are
/// loaded, `sign` and `verify` are safe from any thread (NATS callbacks
/// verify concurrently).
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "troupe/v1/principal.pb.h"

namespace troupe::bus {

class principal_keys {
public:
  /// Shorter secrets are refused: HMAC-SHA256 wants at least its output size.
  static constexpr size_t min_secret_bytes = 32;

  principal_keys();
  ~principal_keys();
  principal_keys(principal_keys&&) noexcept;
  principal_keys& operator=(principal_keys&&) noexcept;

  /// Loads a key. errc::principal_invalid when the id is not a token
  /// ([A-Za-z0-9_-]+), is already loaded, or the secret is too short.
  [[nodiscard]] caf::error add(std::string key_id, std::string_view secret);

  [[nodiscard]] bool empty() const noexcept;

  /// Signs with the most recently added key; errc::principal_invalid when no
  /// key is loaded.
  [[nodiscard]] caf::expected<troupe::v1::SignedPrincipal>
  sign(const troupe::v1::Principal& principal) const;

  /// Signs with the key `key_id`; errc::principal_invalid when it is unknown.
  [[nodiscard]] caf::expected<troupe::v1::SignedPrincipal>
  sign(const troupe::v1::Principal& principal, std::string_view key_id) const;

  /// The principal, when the key id is known, the signature matches (compared
  /// in constant time), the bytes parse and it has not expired at
  /// `now_unix_ms`. A principal without an expiry is refused: the gateway
  /// always sets one, so a missing expiry means someone else made it.
  /// Every failure is errc::principal_invalid with the reason as context.
  [[nodiscard]] caf::expected<troupe::v1::Principal>
  verify(const troupe::v1::SignedPrincipal& signed_principal, int64_t now_unix_ms) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::bus
