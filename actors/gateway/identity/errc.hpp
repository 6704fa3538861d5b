#pragma once
/// The identity module's error codes, for the paths that are not an HTTP
/// answer: loading keys and options at start-up, issuing API keys from the
/// CLI. Stable: the snake_case names appear in logs and CLI output; numbers
/// never change meaning. (Refusals of a request are gateway::api_error.)
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::gateway::identity {

enum class errc : uint8_t {
  unknown = 1,      // a code from a newer build
  key_unreadable,   // a secret or public key file cannot be read
  key_invalid,      // a secret too short, a PEM that holds no Ed25519 public key
  options_invalid,  // nothing to authenticate with, or a limit out of range
  invalid_argument, // a tenant, user or role an API key cannot carry
  random_failed,    // the random generator failed
};

/// The stable name of `code`, e.g. "key_unreadable".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("identity");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the identity error `code`.
bool is(const caf::error& err, errc code) noexcept;

} // namespace troupe::gateway::identity
