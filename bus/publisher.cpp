#include "bus/publisher.hpp"

#include "bus/envelope_codec.hpp"
#include "bus/subjects.hpp"

namespace troupe::bus {

publisher::publisher(transport_ptr transport, std::shared_ptr<traffic_counters> counters)
  : transport_(std::move(transport)), counters_(std::move(counters)) {
}

caf::error publisher::publish(std::string_view subject, troupe::v1::Envelope& env) {
  if (!valid_publish_subject(subject))
    return make_error(errc::invalid_subject, "cannot publish on '" + std::string{subject} + "'");
  if (env.id().empty())
    env.set_id(new_message_id());
  env.SerializeToString(&wire_);
  if (auto err = transport_->publish(subject, wire_))
    return err;
  if (counters_)
    counters_->on_published();
  return {};
}

} // namespace troupe::bus
