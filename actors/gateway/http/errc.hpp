#pragma once
/// The gateway HTTP server's start-up errors. Stable: the snake_case names
/// appear in logs; numbers never change meaning. (Answers to a request are
/// http_error values, not these.)
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::gateway::http {

enum class errc : uint8_t {
  unknown = 1,     // a code this build lacks
  invalid_options, // a limit or count out of range, a missing authenticator or backend
  listen_failed,   // the address cannot be bound (in use, not local, not an address)
  metrics_failed,  // a metric family clashes with one of another type on the registry
  thread_failed,   // an I/O thread could not be started
};

/// The stable name of `code`, e.g. "listen_failed".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("gw_http");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the gateway HTTP error `code`.
bool is(const caf::error& err, errc code) noexcept;

} // namespace troupe::gateway::http
