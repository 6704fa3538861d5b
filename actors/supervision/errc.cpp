#include "actors/supervision/errc.hpp"

#include <array>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace troupe::supervision {

namespace {

constexpr std::array<std::string_view, 6> names{
  "unknown",      "restart_budget_exceeded", "unknown_child", "invalid_child_spec",
  "start_failed", "internal_error",
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

std::string describe(const caf::error& err) {
  if (!err)
    return "none";
  if (err.category() != error_category)
    return caf::to_string(err);
  std::string out{to_string(static_cast<errc>(err.code()))};
  const auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    out += ": " + ctx.get_as<std::string>(0);
  return out;
}

} // namespace troupe::supervision
