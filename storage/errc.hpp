#pragma once
/// The storage module's error codes. Stable: the snake_case names appear in
/// logs, /health and the `troupe migrate` output; numbers never change meaning.
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::storage {

enum class errc : uint8_t {
  unknown = 1,       // a code from a newer build, or an exception we did not expect
  unreachable,       // no session: refused, timed out, rejected, or lost mid-call
  migration_failed,  // a migration's SQL failed (rolled back), or the list is invalid
  checksum_mismatch, // an applied migration's text changed since it was applied
  lock_timeout,      // another process held the migration lock for too long
  query_failed,      // a statement failed, or its input was refused before sending
  invalid_url,       // the database URL / conninfo does not parse
};

/// The stable name of `code`, e.g. "checksum_mismatch".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("storage");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the storage error `code`.
bool is(const caf::error& err, errc code) noexcept;

/// The context string of a storage error (the human-readable part), empty for
/// errors without one.
std::string message_of(const caf::error& err);

} // namespace troupe::storage
