#include "actors/gateway/http/errc.hpp"

#include "common/error_table.hpp"

namespace troupe::gateway::http {

namespace {

constexpr error_table<errc, 5> table{
    error_category,
    {"unknown", "invalid_options", "listen_failed", "metrics_failed", "thread_failed"}};

} // namespace

std::string_view to_string(errc code) noexcept {
  return table.name(code);
}
errc errc_from_string(std::string_view name) noexcept {
  return table.parse(name);
}
caf::error make_error(errc code) {
  return table.make(code);
}
caf::error make_error(errc code, std::string context) {
  return table.make(code, std::move(context));
}
bool is(const caf::error& err, errc code) noexcept {
  return table.is(err, code);
}

} // namespace troupe::gateway::http
