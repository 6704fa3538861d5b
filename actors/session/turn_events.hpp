#pragma once
/// Publishes a turn's steps as troupe.v1.TurnEvent on
/// troupe.<cluster>.events.<tenant>.<session>.<turn>.<type>, numbered in
/// order within the turn. The node's events stream (JetStream) captures the
/// subjects; anyone with NATS credentials may subscribe.
#include <cstdint>
#include <string>

#include "bus/publisher.hpp"
#include "bus/subjects.hpp"
#include "troupe/v1/turn_event.pb.h"

namespace troupe::session {

class turn_events {
public:
  turn_events(const bus::subjects& subjects, bus::publisher& out, std::string node,
              std::string tenant, std::string session, std::string turn, std::string traceparent);

  /// Emits the next step; `payload` may be null. Failures are logged: an
  /// event that cannot be published must not fail the user's turn.
  void emit(troupe::v1::TurnEvent::Type type, const google::protobuf::Message* payload = nullptr,
            std::string error_code = {});

private:
  const bus::subjects& subjects_;
  bus::publisher& out_;
  std::string node_, tenant_, session_, turn_, traceparent_;
  uint32_t seq_ = 0;
};

/// "turn_started", "model_response", ...: the subject token of a type.
std::string event_token(troupe::v1::TurnEvent::Type type);

} // namespace troupe::session
