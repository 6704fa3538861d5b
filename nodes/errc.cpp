#include "nodes/errc.hpp"

#include "common/error_table.hpp"

namespace troupe::node {

namespace {

constexpr error_table<errc, 3> table{error_category, "node",
                                     {"unknown", "service_unavailable", "startup_failed"}};

} // namespace

TROUPE_DEFINE_ERRC(table)

} // namespace troupe::node
