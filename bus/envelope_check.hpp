#pragma once
/// The checks every inbound envelope passes before anything touches its
/// payload. They run on the transport's callback thread (cheap, no I/O), so a
/// bad message never reaches an actor.
#include <caf/expected.hpp>
#include <cstddef>
#include <cstdint>
#include <google/protobuf/message.h>
#include <memory>
#include <string_view>

#include "bus/principal.hpp"
#include "troupe/v1/envelope.pb.h"

namespace troupe::bus {

struct check_policy {
  size_t max_bytes = 1 << 20;          // 0: no limit
  bool require_principal = false;
  const principal_keys* keys = nullptr; // may be null when no principal is expected
};

/// A payload that decode_and_check parsed, kept so that the handler does not
/// parse it again (a model request carries the whole conversation). It lives
/// on a protobuf Arena of its own, freed with the last reference.
using parsed_payload = std::shared_ptr<const google::protobuf::Message>;

/// Decodes `bytes` and checks, in this order (the first failure wins):
///  1. oversize          — more than max_bytes, before any parsing;
///  2. malformed         — not an Envelope;
///  3. unknown_type      — payload_type names no message in the generated
///                         descriptor pool; a payload that does not parse as
///                         that type is malformed;
///  4. deadline_expired  — deadline_unix_ms set and not after `now_unix_ms`;
///  5. principal_missing — required and absent;
///     principal_invalid — present (required or not) and does not verify,
///                         or its tenant differs from the envelope's tenant.
/// Errors carry the bus errc and a short reason as context. When `keep` is
/// given, the parsed payload is stored there for the handler; when
/// `verified` is given, the principal that verified (if one came) is stored
/// there, so no receiver parses it again.
/// Linking this also routes protobuf's own log lines (it complains about
/// invalid UTF-8 in string fields at ERROR level) to the "protobuf" logger
/// at debug level, so junk from a peer cannot flood the log.
[[nodiscard]] caf::expected<troupe::v1::Envelope> decode_and_check(std::string_view bytes,
                                                                   const check_policy& policy,
                                                                   int64_t now_unix_ms,
                                                                   parsed_payload* keep = nullptr,
                                                                   troupe::v1::Principal* verified
                                                                   = nullptr);

/// Milliseconds since the Unix epoch from the system clock (deadlines and
/// principal expiries are wall-clock times shared between nodes).
[[nodiscard]] int64_t now_unix_ms() noexcept;

} // namespace troupe::bus
