#pragma once
/// Turn events go to troupe.<cluster>.events.<tenant>.<session>.<turn>.<type>
/// (bus::subjects::events); the type's token is its enum name in lower case.
#include <string>

#include "troupe/v1/turn_event.pb.h"

namespace troupe::session {

/// "turn_started", "model_response", ...: the subject token of a type.
std::string event_token(troupe::v1::TurnEvent::Type type);

} // namespace troupe::session
