#include "actors/session/session_env.hpp"

#include <caf/message.hpp>

#include "actors/inference/errc.hpp"
#include "bus/envelope_codec.hpp"
#include "storage/errc.hpp"

namespace troupe::session {

std::optional<troupe::v1::Principal> principal_of(const troupe::v1::Envelope& env) {
  if (!env.has_principal() || env.principal().principal().empty())
    return std::nullopt;
  troupe::v1::Principal p;
  if (!p.ParseFromString(env.principal().principal()))
    return std::nullopt;
  return p;
}

troupe::v1::Error session_error(std::string code, std::string message) {
  troupe::v1::Error e;
  e.set_component("session");
  e.set_code(std::move(code));
  e.set_message(std::move(message));
  return e;
}

troupe::v1::Error error_from(const caf::error& err) {
  auto named = [&](std::string_view component, std::string_view code) {
    troupe::v1::Error out;
    out.set_component(std::string{component});
    out.set_code(std::string{code});
    if (err.context().match_elements<std::string>())
      out.set_message(err.context().get_as<std::string>(0));
    return out;
  };
  if (err && err.category() == storage::error_category)
    return named("storage", storage::to_string(static_cast<storage::errc>(err.code())));
  if (err && err.category() == inference::error_category)
    return named("inference", inference::to_string(static_cast<inference::errc>(err.code())));
  return bus::error_payload(err);
}

} // namespace troupe::session
