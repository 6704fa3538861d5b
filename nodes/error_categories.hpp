#pragma once
#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <string>

namespace troupe::node {

/// Teaches the actor system to render the Troupe error categories a node
/// raises (bus, storage, supervision, identity, inference, session, node) as
/// "<stable code>: <context>",
/// so logs and replies show `deadline_expired: ...` instead of a number.
void register_error_categories(caf::actor_system_config& cfg);

/// The same rendering without an actor system (for start-up failures).
std::string describe(const caf::error& err);

} // namespace troupe::node
