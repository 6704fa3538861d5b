#include "admin/errc.hpp"

#include "common/error_table.hpp"

namespace troupe::admin {

namespace {

constexpr error_table<errc, 3> table{error_category, "admin",
                                     {"unknown", "listen_failed", "metrics_failed"}};

} // namespace

TROUPE_DEFINE_ERRC(table)

} // namespace troupe::admin
