#pragma once
/// The supervision module's error codes. Stable: the snake_case names appear
/// in logs, in the down_msg a supervisor's watcher sees and on the console;
/// numbers never change meaning.
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::supervision {

enum class errc : uint8_t {
  unknown = 1,             // a code from a newer build
  restart_budget_exceeded, // a child crashed more often than the policy allows: escalate
  unknown_child,           // a query named a child this supervisor does not have
  invalid_child_spec,      // empty or duplicate child name: the tree cannot start
  start_failed,            // a child's start function threw or returned no actor
  internal_error,          // an exception escaped the supervisor's own code
};

/// The stable name of `code`, e.g. "restart_budget_exceeded".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("supervise");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the supervision error `code`.
bool is(const caf::error& err, errc code) noexcept;

/// A one-line rendering of any error for logs: our codes by name (with their
/// context), everything else through CAF's own to_string.
std::string describe(const caf::error& err);

} // namespace troupe::supervision
