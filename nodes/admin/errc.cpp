#include "nodes/admin/errc.hpp"

#include <caf/make_message.hpp>

namespace troupe::admin {

std::string_view to_string(errc code) noexcept {
  return code == errc::listen_failed ? "listen_failed" : "unknown";
}

caf::error make_error(errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

} // namespace troupe::admin
