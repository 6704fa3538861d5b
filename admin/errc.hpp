#pragma once
/// The admin server's error codes. Stable: the snake_case names appear in
/// logs; numbers never change meaning.
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::admin {

enum class errc : uint8_t {
  unknown = 1,    // a code this build lacks
  listen_failed,  // the address cannot be bound (in use, not local, not an address)
  metrics_failed, // the request counter clashes with a family on the given registry
};

/// The stable name of `code`, e.g. "listen_failed".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("admin");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the admin error `code`.
bool is(const caf::error& err, errc code) noexcept;

} // namespace troupe::admin
