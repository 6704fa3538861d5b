#include "storage/errc.hpp"

#include <array>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace troupe::storage {

namespace {

constexpr std::array<std::string_view, 7> names{
    "unknown",      "unreachable",  "migration_failed", "checksum_mismatch",
    "lock_timeout", "query_failed", "invalid_url",
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

std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

} // namespace troupe::storage
