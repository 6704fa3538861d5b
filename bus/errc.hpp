#pragma once
/// The bus's error codes. Stable: the snake_case names appear in logs,
/// metrics labels and troupe.v1.Error replies; numbers never change meaning.
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string_view>

namespace troupe::bus {

enum class errc : uint8_t {
  unknown = 1,          // a code from a newer peer
  malformed,            // bytes that do not parse as an Envelope
  unknown_type,         // payload_type names no message this node knows
  oversize,             // envelope larger than bus.max_envelope_bytes
  deadline_expired,     // deadline passed before (or while) handling
  principal_missing,    // a principal is required and none came
  principal_invalid,    // signature, key id or expiry does not verify
  timeout,              // a request got no reply before its deadline
  no_responders,        // nobody serves the subject
  not_connected,        // the connection is closed or was never made
  publish_failed,       // the client library refused the publish
  remote_error,         // the peer answered with a troupe.v1.Error
  invalid_subject,      // a subject with empty tokens, wildcards or bad characters
  jetstream_error,      // JetStream API failure (stream, consumer, ack)
  kv_error,             // KV bucket failure
  kv_revision_mismatch, // compare-and-set lost: the key changed
  kv_key_not_found,
  principal_mismatch,   // a principal that verifies but is not the one the exchange belongs to
  reply_mismatch,       // a reply whose correlation id is not its request's
};

/// The stable name of `code`, e.g. "deadline_expired".
std::string_view to_string(errc code) noexcept;
/// Parses a stable name back; errc::unknown for names this build lacks.
errc errc_from_string(std::string_view name) noexcept;

/// The CAF error category of this module.
constexpr caf::atom_value error_category = caf::atom("bus");

caf::error make_error(errc code);
caf::error make_error(errc code, std::string context);

/// True when `err` is the bus error `code`.
bool is(const caf::error& err, errc code) noexcept;

} // namespace troupe::bus
