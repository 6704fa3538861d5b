#pragma once
/// The token of an `Authorization: Bearer <token>` header (RFC 6750 section
/// 2.1): the scheme is case-insensitive, the token is b64token characters.
#include <string_view>

#include "actors/gateway/chat_backend.hpp"

namespace troupe::gateway::identity {

/// The token, viewing into `header`; 401 `unauthenticated` when the header is
/// empty, not Bearer, or its token is missing or has characters b64token lacks.
[[nodiscard]] result<std::string_view> bearer_token(std::string_view header);

} // namespace troupe::gateway::identity
