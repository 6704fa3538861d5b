#include "bus/errc.hpp"

#include <string>

#include "common/error_table.hpp"

namespace troupe::bus {

namespace {

constexpr error_table<errc, 17> table{error_category, {
  "unknown",          "malformed",         "unknown_type",         "oversize",
  "deadline_expired", "principal_missing", "principal_invalid",    "timeout",
  "no_responders",    "not_connected",     "publish_failed",       "remote_error",
  "invalid_subject",  "jetstream_error",   "kv_error",             "kv_revision_mismatch",
  "kv_key_not_found",
}};

} // namespace

std::string_view to_string(errc code) noexcept { return table.name(code); }
errc errc_from_string(std::string_view name) noexcept { return table.parse(name); }
caf::error make_error(errc code) { return table.make(code); }
caf::error make_error(errc code, std::string context) { return table.make(code, std::move(context)); }
bool is(const caf::error& err, errc code) noexcept { return table.is(err, code); }

} // namespace troupe::bus
