#include "actors/supervision/errc.hpp"

#include <caf/message.hpp>

#include "common/error_table.hpp"

namespace troupe::supervision {

namespace {

constexpr error_table<errc, 6> table{error_category, {
  "unknown",      "restart_budget_exceeded", "unknown_child", "invalid_child_spec",
  "start_failed", "internal_error",
}};

} // namespace

std::string_view to_string(errc code) noexcept { return table.name(code); }
errc errc_from_string(std::string_view name) noexcept { return table.parse(name); }
caf::error make_error(errc code) { return table.make(code); }
caf::error make_error(errc code, std::string context) { return table.make(code, std::move(context)); }
bool is(const caf::error& err, errc code) noexcept { return table.is(err, code); }

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
