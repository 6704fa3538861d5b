#pragma once
/// One-way publishing for an actor that talks to the bus itself (the hot
/// path): the actor keeps a `publisher` in its state and publishes straight
/// from its own thread through the thread-safe transport, with no hop
/// through the bridge's mailbox. The bridge's own publish_atom uses one too.
#include <caf/error.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "bus/inbound.hpp"
#include "bus/transport.hpp"
#include "troupe/v1/envelope.pb.h"

namespace troupe::bus {

/// Not thread-safe: one per owning actor (it reuses one buffer).
class publisher {
public:
  explicit publisher(transport_ptr transport, std::shared_ptr<traffic_counters> counters = nullptr);

  /// Publishes `env` on `subject`; fills in `env.id` when empty. Refuses an
  /// invalid or wildcard subject with errc::invalid_subject; else whatever
  /// the transport reports (publishes are buffered while reconnecting).
  [[nodiscard]] caf::error publish(std::string_view subject, troupe::v1::Envelope& env);

private:
  transport_ptr transport_;
  std::shared_ptr<traffic_counters> counters_;
  std::string wire_; // reused serialization buffer
};

} // namespace troupe::bus
