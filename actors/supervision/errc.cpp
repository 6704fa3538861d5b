#include "actors/supervision/errc.hpp"

#include <caf/message.hpp>

#include "common/error_table.hpp"

namespace troupe::supervision {

namespace {

constexpr error_table<errc, 6> table{error_category, "supervision", {
  "unknown",      "restart_budget_exceeded", "unknown_child", "invalid_child_spec",
  "start_failed", "internal_error",
}};

} // namespace

TROUPE_DEFINE_ERRC(table)

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
