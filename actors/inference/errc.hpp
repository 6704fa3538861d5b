#pragma once
/// The inference module's error codes. Stable: the snake_case names appear in
/// logs, troupe.v1.Error replies and the gateway's JSON errors; numbers never
/// change meaning.
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string_view>

namespace troupe::inference {

enum class errc : uint8_t {
  unknown = 1,          // a code from a newer peer
  provider_key_missing, // the provider needs an API key and none is stored
  role_not_configured,  // a role alias ("title", ...) that names no model
  model_unknown,        // no provider serves the model asked for
  backend_unavailable,  // the provider cannot be reached, or kept failing (429/5xx) past the retries
  provider_error,       // the provider answered with an error that retrying will not fix (4xx)
  timeout,              // the provider did not answer within the request timeout
  malformed_response,   // the provider's answer (JSON or SSE) does not parse
  redirect_refused,     // the provider answered with a redirect; never followed
  cancelled,            // the caller cancelled the generation
  invalid_request,      // the request itself is unusable (no messages, bad tool spec)
  key_store_error,      // the master key or an encrypted provider key cannot be used
  result_too_large,     // the model's answer does not fit in a bus envelope
};

/// The stable name of `code`, e.g. "model_unknown".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("inference");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the inference error `code`.
bool is(const caf::error& err, errc code) noexcept;

} // namespace troupe::inference
