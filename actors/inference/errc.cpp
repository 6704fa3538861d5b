#include "actors/inference/errc.hpp"

#include <string>

#include "common/error_table.hpp"

namespace troupe::inference {

namespace {

constexpr error_table<errc, 12> table{error_category, {
  "unknown",          "provider_key_missing", "role_not_configured", "model_unknown",
  "backend_unavailable", "provider_error",    "timeout",             "malformed_response",
  "redirect_refused", "cancelled",            "invalid_request",     "key_store_error",
}};

} // namespace

std::string_view to_string(errc code) noexcept { return table.name(code); }
errc errc_from_string(std::string_view name) noexcept { return table.parse(name); }
caf::error make_error(errc code) { return table.make(code); }
caf::error make_error(errc code, std::string context) { return table.make(code, std::move(context)); }
bool is(const caf::error& err, errc code) noexcept { return table.is(err, code); }

} // namespace troupe::inference
