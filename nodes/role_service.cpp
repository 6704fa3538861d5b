#include "nodes/role_service.hpp"

#include "bus/envelope_codec.hpp"
#include "bus/ping.hpp"
#include "common/logging.hpp"
#include "nodes/errc.hpp"

namespace troupe::node {

namespace {

struct role_service_state {
  role_service_args args;
  static inline const char* name = "role_service";
};

using self_ptr = role_service_actor::stateful_pointer<role_service_state>;

void answer(self_ptr self, bus::inbound& in) {
  auto& st = self->state;
  if (!bus::answer_ping(in, st.args.node_id))
    (void) in.reply->send(bus::error_reply(in.env, bus::errc::unknown_type,
                                           "role '" + st.args.role + "' does not handle "
                                             + in.env.payload_type()));
}

role_service_actor::behavior_type role_service(self_ptr self, role_service_args args) {
  self->state.args = std::move(args);
  auto& st = self->state;
  auto fail = [self](const caf::error& err) {
    log::get("node")->warn("role service '{}' cannot register: {}", self->state.args.role,
                           self->system().render(err));
    self->quit(make_error(errc::service_unavailable, self->system().render(err)));
  };
  self->request(st.args.bridge, std::chrono::seconds(5), serve_atom::value, st.args.subject,
                st.args.role, caf::actor_cast<caf::actor>(self), st.args.require_principal)
    .then([](bool) {}, fail);
  return {
    [self](inbound_atom, bus::inbound& in) { answer(self, in); },
  };
}

} // namespace

supervision::child_spec role_service_child(role_service_args args) {
  std::string name = "service";
  return {name, [args = std::move(args)](caf::local_actor& parent) {
            return caf::actor_cast<caf::actor>(parent.spawn(role_service, args));
          }};
}

} // namespace troupe::node
