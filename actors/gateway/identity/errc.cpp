#include "actors/gateway/identity/errc.hpp"

#include <caf/message.hpp>

#include "common/error_table.hpp"

namespace troupe::gateway::identity {

namespace {

constexpr error_table<errc, 6> table{error_category, {
  "unknown",          "key_unreadable", "key_invalid", "options_invalid",
  "invalid_argument", "random_failed",
}};

} // namespace

std::string_view to_string(errc code) noexcept { return table.name(code); }
errc errc_from_string(std::string_view name) noexcept { return table.parse(name); }
caf::error make_error(errc code) { return table.make(code); }
caf::error make_error(errc code, std::string context) { return table.make(code, std::move(context)); }
bool is(const caf::error& err, errc code) noexcept { return table.is(err, code); }

} // namespace troupe::gateway::identity
