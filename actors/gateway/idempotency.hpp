#pragma once
/// Idempotency-Key: a client that retries a turn (its connection broke, it
/// timed out) sends the same key and gets the first answer, not a second
/// turn. The key becomes the turn's id — the same for the same caller and
/// key, different for anyone else — so the session that committed the turn
/// recognises it and answers it again (recent_turns), wherever it is hosted.
/// The HTTP front checks the key's form (http/turn.cpp).
#include <string>
#include <string_view>

#include "common/ids.hpp"
#include "troupe/v1/principal.pb.h"

namespace troupe::gateway {

/// The turn id of `key` for the caller `who`: 32 hex digits of SHA-256 over
/// tenant, user and key.
[[nodiscard]] turn_id idempotent_turn_id(const troupe::v1::Principal& who, std::string_view key);

/// The session a keyed turn without a session goes to, as the client's own
/// session name (external key), so a retry finds the session the first try
/// created.
[[nodiscard]] std::string idempotent_session_key(std::string_view key);

} // namespace troupe::gateway
