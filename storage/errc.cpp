#include "storage/errc.hpp"

#include <caf/message.hpp>

#include "common/error_table.hpp"

namespace troupe::storage {

namespace {

constexpr error_table<errc, 7> table{error_category, {
    "unknown",      "unreachable",  "migration_failed", "checksum_mismatch",
    "lock_timeout", "query_failed", "invalid_url",
}};

} // namespace

std::string_view to_string(errc code) noexcept { return table.name(code); }
errc errc_from_string(std::string_view name) noexcept { return table.parse(name); }
caf::error make_error(errc code) { return table.make(code); }
caf::error make_error(errc code, std::string context) { return table.make(code, std::move(context)); }
bool is(const caf::error& err, errc code) noexcept { return table.is(err, code); }

std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

} // namespace troupe::storage
