#pragma once
/// Every service answers troupe.v1.Ping with a troupe.v1.Pong naming its node,
/// so operators and tests can probe any subject the same way.
#include <string>

#include "bus/inbound.hpp"

namespace troupe::bus {

/// True when `in` was a Ping (answered, or refused as malformed); false for
/// any other payload, which the caller handles.
bool answer_ping(inbound& in, const std::string& node_id);

} // namespace troupe::bus
