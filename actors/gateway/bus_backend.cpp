#include "actors/gateway/bus_backend.hpp"

#include <caf/all.hpp>
#include <optional>

#include "actors/gateway/error_status.hpp"
#include "actors/gateway/idempotency.hpp"
#include "bus/envelope_codec.hpp"

namespace troupe::gateway {

namespace {

const api_error restarting{503, "backend_unavailable", "the gateway is restarting; retry"};
const api_error bus_down{503, "bus_unavailable",
                         "the node is not connected to the message bus; retry", 1};

template <class T>
reply_fn parse_into(callback<T> done) {
  return [done = std::move(done)](caf::expected<bus::reply> reply) {
    auto out = bus::reply_as<T>(reply);
    if (out)
      done(**out);
    else
      done(api_error_of(out.error()));
  };
}

class bus_backend final : public chat_backend {
public:
  bus_backend(gateway_slot_ptr slot, bus::transport_ptr bus)
    : slot_(std::move(slot)), bus_(std::move(bus)) {}

  cancel_fn chat(turn_input in, std::function<void(const troupe::v1::TurnChunk&)> on_chunk,
                 callback<troupe::v1::TurnResult> done) override {
    auto gw = slot_->get();
    if (auto down = unavailable(gw)) {
      done(*down);
      return [] {};
    }
    auto turn = in.idempotency_key.empty() ? turn_id{bus::new_message_id()}
                                           : idempotent_turn_id(in.principal, in.idempotency_key);
    if (!in.idempotency_key.empty() && in.session_id.empty() && in.session_key.empty())
      in.session_key = idempotent_session_key(in.idempotency_key);
    caf::anon_send(gw, chat_atom::value,
                   chat_job{std::move(in), turn, std::move(on_chunk), std::move(done)});
    return [gw, turn] { caf::anon_send(gw, cancel_atom::value, turn); };
  }

  void list_sessions(const troupe::v1::Principal& who, troupe::v1::ListSessions q,
                     callback<troupe::v1::SessionList> done) override {
    ask(who, "session", q, std::move(done));
  }
  void get_session(const troupe::v1::Principal& who, std::string session_id,
                   callback<troupe::v1::SessionInfo> done) override {
    troupe::v1::GetSession q;
    q.set_session_id(std::move(session_id));
    ask(who, "session", q, std::move(done));
  }
  void get_messages(const troupe::v1::Principal& who, troupe::v1::GetMessages q,
                    callback<troupe::v1::MessageList> done) override {
    ask(who, "session", q, std::move(done));
  }
  void delete_session(const troupe::v1::Principal& who, std::string session_id,
                      callback<troupe::v1::SessionDeleted> done) override {
    troupe::v1::DeleteSession q;
    q.set_session_id(session_id);
    ask(who, "session", q, std::move(done), std::move(session_id));
  }
  void list_models(const troupe::v1::Principal& who,
                   callback<troupe::v1::ModelList> done) override {
    ask(who, "inference", troupe::v1::ListModels{}, std::move(done));
  }

private:
  std::optional<api_error> unavailable(const gateway_actor& gw) const {
    if (!gw)
      return restarting;
    if (bus_ && bus_->state() != bus::link_state::connected)
      return bus_down;
    return std::nullopt;
  }

  template <class T>
  void ask(const troupe::v1::Principal& who, std::string kind,
           const google::protobuf::Message& payload, callback<T> done, std::string forget = {}) {
    auto gw = slot_->get();
    if (auto down = unavailable(gw))
      return done(*down);
    caf::anon_send(gw, query_atom::value,
                   query_job{who, std::move(kind), bus::make_envelope(payload),
                             parse_into(std::move(done)), std::move(forget)});
  }

  gateway_slot_ptr slot_;
  bus::transport_ptr bus_;
};

} // namespace

chat_backend_ptr make_bus_backend(gateway_slot_ptr slot, bus::transport_ptr bus) {
  return std::make_shared<bus_backend>(std::move(slot), std::move(bus));
}

} // namespace troupe::gateway
