#include "actors/gateway/http/errc.hpp"

#include "common/error_table.hpp"

namespace troupe::gateway::http {

namespace {

constexpr error_table<errc, 5> table{
    error_category, "gateway_http",
    {"unknown", "invalid_options", "listen_failed", "metrics_failed", "thread_failed"}};

} // namespace

TROUPE_DEFINE_ERRC(table)

} // namespace troupe::gateway::http
