#pragma once
/// Building envelopes around payload messages and reading them back. Every
/// component speaks through these helpers, so the type name, the id and the
/// error convention (a troupe.v1.Error payload, component "bus") are the
/// same everywhere.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <google/protobuf/message.h>
#include <string>

#include "bus/errc.hpp"
#include "troupe/v1/envelope.pb.h"

namespace troupe::bus {

/// The payload_type of a typed error reply.
inline constexpr std::string_view error_type_name = "troupe.v1.Error";

/// 32 hex characters from OpenSSL's RAND_bytes: unique enough to de-duplicate
/// JetStream publishes by id and to correlate replies.
[[nodiscard]] std::string new_message_id();

/// An envelope with a fresh id carrying `payload` (type name and bytes).
[[nodiscard]] troupe::v1::Envelope make_envelope(const google::protobuf::Message& payload);

/// The same with the payload already encoded (`bytes` are a `type_name`).
[[nodiscard]] troupe::v1::Envelope make_envelope(std::string_view type_name, std::string bytes);

/// The answer to `request`: a fresh id, correlation_id = the request's id,
/// tenant and traceparent carried over, `to` = the request's `from`.
[[nodiscard]] troupe::v1::Envelope make_reply(const troupe::v1::Envelope& request,
                                              const google::protobuf::Message& payload);

/// The typed error answer to `request`: a troupe.v1.Error {code = the stable
/// name of `code`, message, component "bus"}.
[[nodiscard]] troupe::v1::Envelope error_reply(const troupe::v1::Envelope& request, errc code,
                                               std::string message);

/// The error answer to `request` with any component's code: how modules
/// above the bus (session, inference) answer with their own stable codes.
[[nodiscard]] troupe::v1::Envelope error_reply(const troupe::v1::Envelope& request,
                                               troupe::v1::Error error);

/// The troupe.v1.Error a caf::error stands for: a remote error keeps the
/// structure it arrived with (component, code, message); a local one of a
/// registered module (common/error_table.hpp) is that module's component
/// and the stable name of its code, its string context the message; any
/// other category is its name and code number.
[[nodiscard]] troupe::v1::Error error_payload(const caf::error& err);

/// The caf::error a received troupe.v1.Error stands for: the code of the
/// module that owns its component when this program has that module (so
/// `session::is(err, errc::session_moved)` works on a remote answer), else
/// errc::remote_error; either way the Error itself is the context, so
/// error_payload gives it back unchanged.
[[nodiscard]] caf::error error_from(troupe::v1::Error remote);

/// True when `env` carries a troupe.v1.Error.
[[nodiscard]] bool is_error(const troupe::v1::Envelope& env) noexcept;

/// The caf::error an error reply stands for (error_from); errc::malformed
/// when the payload is not a troupe.v1.Error.
[[nodiscard]] caf::error error_of(const troupe::v1::Envelope& env);

/// "component/code: message" of any error, for logs and humans.
[[nodiscard]] std::string describe(const caf::error& err);

/// Parses the payload as a `T`. A troupe.v1.Error payload becomes its
/// caf::error (see error_of); another type is errc::unknown_type; bytes that
/// do not parse are errc::malformed.
template <class T>
[[nodiscard]] caf::expected<T> payload_as(const troupe::v1::Envelope& env) {
  const auto& want = T::descriptor()->full_name();
  if (env.payload_type() != want) {
    if (is_error(env))
      return error_of(env);
    return make_error(errc::unknown_type,
                      "expected " + want + ", got '" + env.payload_type() + "'");
  }
  T out;
  if (!out.ParseFromString(env.payload()))
    return make_error(errc::malformed, "payload does not parse as " + want);
  return out;
}

} // namespace troupe::bus
