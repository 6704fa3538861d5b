#pragma once
/// The session module's error codes: what a turn or a session request
/// fails with. Stable: the snake_case names appear in logs, troupe.v1.Error
/// replies (component "session") and the gateway's JSON errors; numbers
/// never change meaning.
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/v1/envelope.pb.h"

namespace troupe::session {

enum class errc : uint8_t {
  unknown = 1,         // a code from a newer peer
  session_not_found,   // no such session, or not the caller's
  session_moved,       // another node hosts the session now: ask svc.session again
  session_busy,        // the session's queue of turns is full
  invalid_request,     // a turn or query that cannot be run as sent
  cancelled,           // the caller cancelled the turn
  deadline_expired,    // the turn's deadline passed (queued or running)
  persist_failed,      // the turn's messages could not be committed
  events_unavailable,  // JetStream did not acknowledge the turn's events in time
  result_too_large,    // the answer would exceed the bus's envelope limit
  step_limit_reached,  // the model kept calling tools past the turn's step limit
  guardrail_blocked,   // a guardrail refused the input or the output
  stage_unavailable,   // a stage of the pipeline has no role serving it
  principal_missing,   // a request that acts for someone without a signed principal
  unknown_type,        // a message type the session does not handle
  session_stopped,     // the node hosting the session stopped before the turn ended
  turn_in_progress,    // a turn with this id is queued or running: its answer is not known yet
  turn_id_reused,      // a turn id (an idempotency key) sent again with another message
};

/// The stable name of `code`, e.g. "session_busy".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("session");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the session error `code`.
bool is(const caf::error& err, errc code) noexcept;

/// The troupe.v1.Error a session answers with: component "session", the
/// stable name of `code`, `message` for humans.
troupe::v1::Error error_of(errc code, std::string message);

} // namespace troupe::session
