#include "nodes/errc.hpp"

#include <caf/make_message.hpp>

namespace troupe::node {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::service_unavailable: return "service_unavailable";
    case errc::config_invalid: return "config_invalid";
    case errc::startup_failed: return "startup_failed";
    case errc::unknown: break;
  }
  return "unknown";
}

caf::error make_error(errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

} // namespace troupe::node
