#pragma once
/// base64url without padding, as JWS uses it (RFC 7515 section 2), decoded
/// strictly: anything but [A-Za-z0-9_-], padding, an impossible length or
/// a non-canonical last character is refused, so one value has one spelling.
#include <optional>
#include <string>
#include <string_view>

namespace troupe::gateway::identity {

/// The bytes `text` encodes, or nullopt when it is not strict base64url.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

} // namespace troupe::gateway::identity
