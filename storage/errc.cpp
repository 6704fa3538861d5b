#include "storage/errc.hpp"

#include <caf/message.hpp>

#include "common/error_table.hpp"

namespace troupe::storage {

namespace {

constexpr error_table<errc, 7> table{error_category, "storage", {
    "unknown",      "unreachable",  "migration_failed", "checksum_mismatch",
    "lock_timeout", "query_failed", "invalid_url",
}};

} // namespace

TROUPE_DEFINE_ERRC(table)

std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return {};
}

} // namespace troupe::storage
