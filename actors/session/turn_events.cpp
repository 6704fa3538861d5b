#include "actors/session/turn_events.hpp"

#include <algorithm>
#include <cctype>

#include "bus/envelope_codec.hpp"
#include "common/logging.hpp"

namespace troupe::session {

std::string event_token(troupe::v1::TurnEvent::Type type) {
  auto name = troupe::v1::TurnEvent::Type_Name(type);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

turn_events::turn_events(const bus::subjects& subjects, bus::publisher& out, std::string node,
                         std::string tenant, std::string session, std::string turn,
                         std::string traceparent)
  : subjects_(subjects),
    out_(out),
    node_(std::move(node)),
    tenant_(std::move(tenant)),
    session_(std::move(session)),
    turn_(std::move(turn)),
    traceparent_(std::move(traceparent)) {}

void turn_events::emit(troupe::v1::TurnEvent::Type type, const google::protobuf::Message* payload,
                       std::string error_code) {
  troupe::v1::TurnEvent ev;
  ev.set_id(bus::new_message_id());
  ev.set_tenant(tenant_);
  ev.set_session_id(session_);
  ev.set_turn_id(turn_);
  ev.set_seq(seq_++);
  ev.set_type(type);
  ev.set_at_unix_ms(bus::now_unix_ms());
  ev.set_node(node_);
  ev.set_traceparent(traceparent_);
  ev.set_error_code(std::move(error_code));
  if (payload) {
    ev.set_payload_type(payload->GetDescriptor()->full_name());
    ev.set_payload(payload->SerializeAsString());
  }
  auto subject = subjects_.events(tenant_, session_, turn_, event_token(type));
  caf::error err;
  if (!subject) {
    err = subject.error();
  } else {
    auto env = bus::make_envelope(ev);
    env.set_tenant(tenant_);
    err = out_.publish(*subject, env);
  }
  if (err)
    log::get("session")->warn("turn {} event {} not published: {}", turn_, event_token(type),
                              caf::to_string(err));
}

} // namespace troupe::session
