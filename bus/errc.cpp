#include "bus/errc.hpp"

#include <array>
#include <caf/make_message.hpp>
#include <string>

namespace troupe::bus {

namespace {

constexpr std::array<std::string_view, 17> names{
  "unknown",          "malformed",         "unknown_type",         "oversize",
  "deadline_expired", "principal_missing", "principal_invalid",    "timeout",
  "no_responders",    "not_connected",     "publish_failed",       "remote_error",
  "invalid_subject",  "jetstream_error",   "kv_error",             "kv_revision_mismatch",
  "kv_key_not_found",
};

} // namespace

std::string_view to_string(errc code) noexcept {
  auto i = static_cast<size_t>(code);
  return i >= 1 && i <= names.size() ? names[i - 1] : names[0];
}

errc errc_from_string(std::string_view name) noexcept {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<errc>(i + 1);
  return errc::unknown;
}

caf::error make_error(errc code) {
  return caf::error{static_cast<uint8_t>(code), error_category};
}

caf::error make_error(errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

bool is(const caf::error& err, errc code) noexcept {
  return err && err.category() == error_category && err.code() == static_cast<uint8_t>(code);
}

} // namespace troupe::bus
