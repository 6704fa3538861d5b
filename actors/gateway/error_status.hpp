#pragma once
/// The one table from a structured error (component, code) to what an HTTP
/// client is told: the status, and for a refusal worth retrying soon
/// (session_busy) how soon. A code the table does not know is a 500, so an
/// internal failure never passes as the client's fault.
#include <caf/error.hpp>

#include "actors/gateway/chat_backend.hpp"
#include "troupe/v1/envelope.pb.h"

namespace troupe::gateway {

/// The HTTP status for (component, code); 500 for a pair the table lacks.
[[nodiscard]] unsigned status_of(const troupe::v1::Error& e) noexcept;

/// `e` as the client sees it: status, the stable code, the message.
[[nodiscard]] api_error api_error_of(const troupe::v1::Error& e);
/// A local error (bus, or any module's errc) the same way.
[[nodiscard]] api_error api_error_of(const caf::error& err);

} // namespace troupe::gateway
