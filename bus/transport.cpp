#include "bus/transport.hpp"

namespace troupe::bus {

std::string_view to_string(link_state s) noexcept {
  switch (s) {
    case link_state::connecting: return "connecting";
    case link_state::connected: return "connected";
    case link_state::reconnecting: return "reconnecting";
    case link_state::closed: return "closed";
  }
  return "closed";
}

} // namespace troupe::bus
