#include "actors/inference/errc.hpp"

#include <string>

#include "common/error_table.hpp"

namespace troupe::inference {

namespace {

constexpr error_table<errc, 13> table{error_category, "inference", {
  "unknown",          "provider_key_missing", "role_not_configured", "model_unknown",
  "backend_unavailable", "provider_error",    "timeout",             "malformed_response",
  "redirect_refused", "cancelled",            "invalid_request",     "key_store_error",
  "result_too_large",
}};

} // namespace

TROUPE_DEFINE_ERRC(table)

} // namespace troupe::inference
