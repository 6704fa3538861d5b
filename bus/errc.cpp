#include "bus/errc.hpp"

#include <string>

#include "common/error_table.hpp"

namespace troupe::bus {

namespace {

constexpr error_table<errc, 19> table{error_category, "bus", {
  "unknown",          "malformed",         "unknown_type",         "oversize",
  "deadline_expired", "principal_missing", "principal_invalid",    "timeout",
  "no_responders",    "not_connected",     "publish_failed",       "remote_error",
  "invalid_subject",  "jetstream_error",   "kv_error",             "kv_revision_mismatch",
  "kv_key_not_found", "principal_mismatch", "reply_mismatch",
}};

} // namespace

TROUPE_DEFINE_ERRC(table)

} // namespace troupe::bus
