#include "actors/gateway/identity/errc.hpp"

#include <caf/message.hpp>

#include "common/error_table.hpp"

namespace troupe::gateway::identity {

namespace {

constexpr error_table<errc, 6> table{error_category, "identity", {
  "unknown",          "key_unreadable", "key_invalid", "options_invalid",
  "invalid_argument", "random_failed",
}};

} // namespace

TROUPE_DEFINE_ERRC(table)

} // namespace troupe::gateway::identity
