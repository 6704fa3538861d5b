#pragma once
/// The session directory: JetStream KV, session id -> owning node. A node
/// claims a session with compare-and-set, so two nodes racing for one session
/// cannot both win. Blocking (KV round trips): call from a store worker.
#include <caf/expected.hpp>
#include <string>

#include "bus/kv.hpp"

namespace troupe::session {

/// The session's owner after this call: `me` when the key was free, already
/// mine, or held by `failed_owner` (a node the caller found not answering for
/// it); otherwise the node that holds it. A lost compare-and-set re-reads
/// and decides again.
[[nodiscard]] caf::expected<std::string> claim_session(bus::kv_bucket& directory,
                                                       const std::string& session_id,
                                                       const std::string& me,
                                                       const std::string& failed_owner);

} // namespace troupe::session
