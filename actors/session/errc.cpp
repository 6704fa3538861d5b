#include "actors/session/errc.hpp"

#include "common/error_table.hpp"

namespace troupe::session {

namespace {

constexpr error_table<errc, 18> table{error_category, "session", {
  "unknown",           "session_not_found",  "session_moved",      "session_busy",
  "invalid_request",   "cancelled",          "deadline_expired",   "persist_failed",
  "events_unavailable", "result_too_large",  "step_limit_reached", "guardrail_blocked",
  "stage_unavailable", "principal_missing",  "unknown_type",       "session_stopped",
  "turn_in_progress",  "turn_id_reused",
}};

} // namespace

TROUPE_DEFINE_ERRC(table)

troupe::v1::Error error_of(errc code, std::string message) {
  troupe::v1::Error e;
  e.set_component(std::string{table.component});
  e.set_code(std::string{table.name(code)});
  e.set_message(std::move(message));
  return e;
}

} // namespace troupe::session
