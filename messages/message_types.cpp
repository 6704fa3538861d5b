#include "messages/message_types.hpp"

namespace troupe {

void announce_message_types(caf::actor_system_config&) {
  // Local-only types need no registration in CAF 0.17 (see the
  // CAF_ALLOW_UNSAFE_MESSAGE_TYPE lines in the header); error categories are
  // registered by the components that own them, through this function, as
  // they are added.
  GOOGLE_PROTOBUF_VERIFY_VERSION;
}

} // namespace troupe
