#include "nodes/errc.hpp"

#include "common/error_table.hpp"

namespace troupe::node {

namespace {

constexpr error_table<errc, 3> table{error_category,
                                     {"unknown", "service_unavailable", "startup_failed"}};

} // namespace

std::string_view to_string(errc code) noexcept { return table.name(code); }
caf::error make_error(errc code, std::string context) { return table.make(code, std::move(context)); }

} // namespace troupe::node
