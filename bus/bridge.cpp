#include "bus/bridge.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "bus/envelope_codec.hpp"
#include "bus/publisher.hpp"
#include "bus/subjects.hpp"
#include "common/logging.hpp"

namespace troupe::bus {

namespace {

/// The bridge's full interface: the public one plus the messages its
/// request_client receives from the reply router and the clock.
using bridge_impl_actor = bridge_actor::extend_with<request_client_actor>;

struct service {
  std::string subject;
  std::string queue;
  caf::actor handler; // the dispatch's owner
  subscription_ptr sub; // unsubscribes when the service goes
};

struct bridge_state {
  transport_ptr transport;
  bridge_config config;
  std::shared_ptr<traffic_counters> traffic;
  std::optional<request_client> client;
  std::vector<service> services;
  std::optional<publisher> out;
  static inline const char* name = "bus.bridge";
};

using self_ptr = bridge_impl_actor::stateful_pointer<bridge_state>;

void publish(self_ptr self, const std::string& subject, troupe::v1::Envelope& env) {
  if (auto err = self->state.out->publish(subject, env))
    log::get("bus")->warn("bridge: publish on '{}' failed: {}", subject, caf::to_string(err));
}

caf::result<bool> serve(self_ptr self, std::string& subject, std::string& queue,
                        const dispatch_ptr& route, bool require_principal) {
  auto& st = self->state;
  if (!valid_subscribe_subject(subject))
    return make_error(errc::invalid_subject, "cannot serve '" + subject + "'");
  if (!queue.empty() && !valid_token(queue))
    return make_error(errc::invalid_subject, "invalid queue group '" + queue + "'");
  if (!route || !route->owner())
    return make_error(errc::invalid_subject, "no handler actor for '" + subject + "'");
  const auto& handler = route->owner();
  auto same = [&](const service& s) {
    return s.subject == subject && s.queue == queue && s.handler == handler;
  };
  if (std::any_of(st.services.begin(), st.services.end(), same))
    return true;
  inbound_policy policy{st.config.max_envelope_bytes, require_principal, st.config.keys};
  auto sub = st.transport->subscribe(subject, queue,
                                     make_inbound_handler(route, std::move(policy),
                                                          st.transport, st.traffic));
  if (!sub)
    return std::move(sub.error());
  self->monitor(handler);
  log::get("bus")->debug("bridge: serving {}{}{}", subject, queue.empty() ? "" : " queue ",
                         queue);
  st.services.push_back({std::move(subject), std::move(queue), handler, std::move(*sub)});
  return true;
}

void stop_serving(self_ptr self, const std::string& subject) {
  auto& svcs = self->state.services;
  svcs.erase(std::remove_if(svcs.begin(), svcs.end(),
                            [&](const service& s) { return s.subject == subject; }),
             svcs.end());
}

bridge_impl_actor::behavior_type bridge(self_ptr self, transport_ptr transport,
                                        bridge_config config, prometheus::Registry* metrics) {
  auto& st = self->state;
  st.transport = std::move(transport);
  st.config = std::move(config);
  st.traffic = std::make_shared<traffic_counters>(metrics);
  st.out.emplace(st.config.one_way ? st.config.one_way : st.transport, st.traffic);
  st.client.emplace(st.transport,
                    request_options{st.config.max_envelope_bytes, st.config.keys, metrics});
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& svcs = self->state.services;
    svcs.erase(std::remove_if(svcs.begin(), svcs.end(),
                              [&](const service& s) { return s.handler.address() == dm.source; }),
               svcs.end());
  });
  return {
    [self](publish_atom, const std::string& subject, troupe::v1::Envelope& env) {
      publish(self, subject, env);
    },
    [self](request_atom, const std::string& subject, troupe::v1::Envelope& env,
           caf::timespan timeout) -> caf::result<troupe::v1::Envelope> {
      auto rp = self->make_response_promise<troupe::v1::Envelope>();
      self->state.client->request(self, subject, std::move(env), timeout,
                                  [rp](caf::expected<reply> r) mutable {
                                    if (r)
                                      rp.deliver(std::move(r->env));
                                    else
                                      rp.deliver(std::move(r.error()));
                                  });
      return rp;
    },
    [self](serve_atom, std::string& subject, std::string& queue, caf::actor& handler,
           bool require_principal) -> caf::result<bool> {
      return serve(self, subject, queue, dispatch::untyped(handler), require_principal);
    },
    [self](serve_atom, std::string& subject, std::string& queue, dispatch_ptr& route,
           bool require_principal) -> caf::result<bool> {
      return serve(self, subject, queue, route, require_principal);
    },
    [self](stop_atom, const std::string& subject) { stop_serving(self, subject); },
    [self](status_atom) -> bridge_status {
      const auto& st = self->state;
      bridge_status s;
      s.state = st.transport->state();
      s.published = st.traffic->published() + st.client->published();
      s.received = st.traffic->received();
      s.rejected = st.traffic->rejected();
      s.requests = st.client->requests();
      s.timeouts = st.client->timeouts();
      s.services = st.services.size();
      return s;
    },
    [self](reply_atom, uint64_t token, const message& msg) {
      self->state.client->handle_reply(token, msg);
    },
    [self](timeout_atom, uint64_t token) { self->state.client->handle_timeout(token); },
  };
}

} // namespace

bridge_actor make_bridge(caf::actor_system& sys, transport_ptr transport, bridge_config config,
                         prometheus::Registry& metrics) {
  return sys.spawn(bridge, std::move(transport), std::move(config), &metrics);
}

} // namespace troupe::bus
