#include "bus/ping.hpp"

#include "bus/envelope_codec.hpp"
#include "troupe/v1/node.pb.h"

namespace troupe::bus {

bool answer_ping(inbound& in, const std::string& node_id) {
  if (in.env.payload_type() != troupe::v1::Ping::descriptor()->full_name())
    return false;
  auto ping = payload_of<troupe::v1::Ping>(in);
  if (!ping) {
    (void) in.reply->send(error_reply(in.env, errc::malformed, "bad Ping payload"));
    return true;
  }
  troupe::v1::Pong pong;
  pong.set_seq((*ping)->seq());
  pong.set_data((*ping)->data());
  pong.set_node_id(node_id);
  (void) in.reply->send(make_reply(in.env, pong));
  return true;
}

} // namespace troupe::bus
