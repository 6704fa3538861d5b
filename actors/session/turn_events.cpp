#include "actors/session/turn_events.hpp"

#include <algorithm>
#include <cctype>

namespace troupe::session {

std::string event_token(troupe::v1::TurnEvent::Type type) {
  auto name = troupe::v1::TurnEvent::Type_Name(type);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

} // namespace troupe::session
