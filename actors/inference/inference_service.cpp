#include "actors/inference/inference_service.hpp"

#include <caf/all.hpp>
#include <optional>
#include <unordered_map>

#include "actors/inference/dev_model.hpp"
#include "actors/inference/errc.hpp"
#include "actors/inference/model_resolver.hpp"
#include "actors/inference/provider_pool.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/inbound.hpp"
#include "bus/ping.hpp"
#include "bus/dispatch.hpp"
#include "common/logging.hpp"
#include "storage/provider_store.hpp"
#include "troupe/v1/chat.pb.h"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const troupe::storage::provider_registry>)

namespace troupe::inference {

namespace {

using namespace std::chrono_literals;
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;
using finished_atom = caf::atom_constant<caf::atom("finished")>;

using registry_ptr = std::shared_ptr<const storage::provider_registry>;

troupe::v1::Error inference_error(const caf::error& err) {
  troupe::v1::Error out;
  out.set_component("inference");
  if (err && err.category() == error_category)
    out.set_code(std::string{to_string(static_cast<errc>(err.code()))});
  else
    out = bus::error_payload(err);
  if (err && err.context().match_elements<std::string>())
    out.set_message(err.context().get_as<std::string>(0));
  return out;
}

void reply_error(const bus::inbound& in, const caf::error& err) {
  if (in.reply->expected())
    (void) in.reply->send(bus::error_reply(in.env, inference_error(err)));
}

/// A generation's deltas as GenerateChunk partial replies to its request,
/// on whichever thread the deltas come. The result leaves through the same
/// replier after the last delta, so the caller gets them all in order.
delta_fn partial_replies(const troupe::v1::GenerateRequest& req, bus::inbound& in) {
  if (!req.stream() || !in.reply->expected())
    return {};
  return [turn_id = req.turn_id(), reply = in.reply, request = in.env, seq = uint32_t{0}](
           std::string_view delta) mutable {
    troupe::v1::GenerateChunk chunk;
    chunk.set_turn_id(turn_id);
    chunk.set_seq(seq++);
    chunk.set_delta(std::string{delta});
    (void) reply->send_partial(bus::make_reply(request, chunk));
  };
}

void reply_result(bus::inbound& in, const resolved_model& target,
                  caf::expected<troupe::v1::GenerateResult> result) {
  if (!result)
    return reply_error(in, result.error());
  result->set_provider(target.provider);
  if (!in.reply->expected())
    return;
  auto err = in.reply->send(bus::make_reply(in.env, *result));
  if (bus::is(err, bus::errc::oversize))
    reply_error(in, make_error(errc::result_too_large,
                               "the model's answer takes " + std::to_string(result->ByteSizeLong())
                                 + " bytes, more than a bus envelope carries"));
}

/// The built-in model answers at once, on the service actor (no I/O).
void generate_builtin(dev_model& dev, const resolved_model& target,
                      const troupe::v1::GenerateRequest& req, bus::inbound& in) {
  auto result = dev.generate(req, target.model, partial_replies(req, in), nullptr);
  reply_result(in, target, std::move(result));
}

/// A provider call on the pool, and the turn it runs for (CancelTurn).
struct running_call {
  uint64_t number; // tells a resend of the same turn from the call it replaced
  provider_pool::handle handle;
};

struct service_state {
  inference_env_ptr env;
  registry_ptr registry = std::make_shared<storage::provider_registry>();
  dev_model dev;
  std::unique_ptr<provider_pool> pool;
  size_t in_flight = 0;
  uint64_t calls = 0;
  /// Provider calls under way, by tenant and turn, for CancelTurn.
  std::unordered_map<std::string, running_call> running;
  static inline const char* name = "inference";
};

using service_impl = inference_actor::extend<caf::reacts_to<loaded_atom, registry_ptr>,
                                             caf::reacts_to<refresh_atom>,
                                             caf::reacts_to<finished_atom, std::string, uint64_t>>;

using self_ptr = service_impl::stateful_pointer<service_state>;

void refresh(self_ptr self) {
  auto me = caf::actor_cast<caf::actor>(self);
  self->state.env->store->run("registry", [me](caf::expected<storage::connection*> conn) {
    if (!conn)
      return log::get("inference")->warn("provider registry not refreshed: {}",
                                         caf::to_string(conn.error()));
    auto reg = storage::load_registry(**conn);
    if (!reg)
      return log::get("inference")->warn("provider registry not refreshed: {}",
                                         caf::to_string(reg.error()));
    caf::anon_send(me, loaded_atom::value,
                   registry_ptr{std::make_shared<storage::provider_registry>(std::move(*reg))});
  });
  self->delayed_send(self, self->state.env->settings.registry_refresh, refresh_atom::value);
}

/// Hands a provider call to the pool. Its deltas and its answer go out from
/// the pool thread (publishing is thread-safe); then the service hears that
/// call `number` of turn `key` is over.
provider_pool::handle start_provider_call(self_ptr self, resolved_model target,
                                          std::shared_ptr<const troupe::v1::GenerateRequest> req,
                                          bus::inbound in, std::string key, uint64_t number) {
  const auto& settings = self->state.env->settings;
  provider_pool::call call;
  call.provider.provider = target.provider;
  call.provider.base_url = target.base_url;
  call.provider.api_key = target.api_key;
  call.provider.connect_timeout = settings.connect_timeout;
  call.provider.request_timeout = settings.request_timeout;
  call.provider.max_retries = settings.max_retries;
  call.provider.backoff_initial = settings.retry_backoff;
  call.model = target.model;
  call.on_delta = partial_replies(*req, in);
  call.request = std::move(req);
  call.done = [me = caf::actor_cast<caf::actor>(self), target = std::move(target),
               in = std::move(in), key = std::move(key),
               number](caf::expected<troupe::v1::GenerateResult> result) mutable {
    reply_result(in, target, std::move(result));
    caf::anon_send(me, finished_atom::value, key, number);
  };
  return self->state.pool->start(std::move(call));
}

/// Work is done on someone's behalf: the bridge verified the principal if
/// one came; here it must have come.
bool has_principal(const bus::inbound& in) {
  if (in.principal)
    return true;
  reply_error(in, bus::make_error(bus::errc::principal_missing,
                                  "svc.inference needs a signed principal"));
  return false;
}

/// Whose generation a turn is: a cancel must come from the same principal.
std::string running_key(const troupe::v1::Principal& who, const std::string& turn_id) {
  return who.tenant() + '\n' + who.user() + '\n' + turn_id;
}

void on_generate(self_ptr self, bus::in<troupe::v1::GenerateRequest>& typed) {
  auto& st = self->state;
  if (!has_principal(typed.raw))
    return;
  auto req = typed.shared();
  auto in = std::move(typed.raw);
  const auto& request = *req;
  if (request.messages_size() == 0)
    return reply_error(in, make_error(errc::invalid_request, "a generation needs messages"));
  auto what = request.model().empty() ? std::string{"default"} : request.model();
  auto target = resolve(*st.registry, *st.env->keys, what);
  if (!target)
    return reply_error(in, target.error());
  if (target->builtin())
    return generate_builtin(st.dev, *target, request, in);
  if (st.in_flight >= st.env->max_in_flight)
    return reply_error(in, make_error(errc::backend_unavailable,
                                      "too many generations in flight on this node"));
  ++st.in_flight;
  auto key = running_key(*in.principal, request.turn_id());
  bool cancellable = !request.turn_id().empty();
  running_call call{++st.calls, {}};
  call.handle = start_provider_call(self, std::move(*target), std::move(req), std::move(in), key,
                                    call.number);
  if (cancellable)
    st.running[key] = call;
}

/// A CancelTurn for a generation this node runs: its provider call stops
/// (the caller has stopped waiting; the tokens would be wasted).
void on_cancel(self_ptr self, const bus::in<troupe::v1::CancelTurn>& cancel) {
  const auto& in = cancel.raw;
  if (!has_principal(in))
    return;
  const auto& turn_id = cancel.msg().turn_id();
  auto it = self->state.running.find(running_key(*in.principal, turn_id));
  troupe::v1::TurnCancelled ack;
  ack.set_turn_id(turn_id);
  if (it != self->state.running.end()) {
    self->state.pool->cancel(it->second.handle);
    ack.set_was_running(true);
  }
  if (in.reply->expected())
    (void) in.reply->send(bus::make_reply(in.env, ack));
}

service_impl::behavior_type inference_service(self_ptr self, inference_env_ptr env,
                                              bus::bridge_actor bridge) {
  self->state.env = std::move(env);
  auto& st = self->state;
  try {
    st.pool = std::make_unique<provider_pool>(st.env->settings.provider_threads);
  } catch (const std::exception& e) {
    log::get("inference")->error("inference service cannot start its provider threads: {}",
                                 e.what());
    self->quit(make_error(errc::backend_unavailable, e.what()));
    return service_impl::behavior_type::make_empty_behavior();
  }
  // Generations on the queue group (one instance each); cancellations on
  // the broadcast subject (every instance, the one running the turn acts).
  for (auto [subject, queue] : {std::pair{*st.env->subjects.svc("inference"), std::string{"inference"}},
                                std::pair{*st.env->subjects.broadcast("inference", "cancel"), std::string{}}})
    self->request(bridge, 5s, serve_atom::value, subject, queue,
                  bus::dispatch::to<troupe::v1::Ping, troupe::v1::GenerateRequest,
                                    troupe::v1::CancelTurn, troupe::v1::ListModels>(self),
                  false)
      .then([](bool) {},
            [self](const caf::error& err) {
              log::get("inference")->error("inference service cannot serve: {}",
                                           self->system().render(err));
              self->quit(err);
            });
  refresh(self);
  return {
    [self](bus::in<troupe::v1::Ping>& in) { bus::answer_ping(in.raw, self->state.env->node_id); },
    [self](bus::in<troupe::v1::GenerateRequest>& in) { on_generate(self, in); },
    [self](bus::in<troupe::v1::CancelTurn>& in) { on_cancel(self, in); },
    [self](bus::in<troupe::v1::ListModels>& in) {
      if (!has_principal(in.raw) || !in.reply().expected())
        return;
      (void) in.reply().send(bus::make_reply(in.env(), list_models(*self->state.registry)));
    },
    [self](loaded_atom, registry_ptr& reg) { self->state.registry = std::move(reg); },
    [self](refresh_atom) { refresh(self); },
    [self](finished_atom, const std::string& key, uint64_t number) {
      auto& st = self->state;
      --st.in_flight;
      // A newer call of the same turn (a resend) keeps its own entry.
      if (auto it = st.running.find(key); it != st.running.end() && it->second.number == number)
        st.running.erase(it);
    },
  };
}

} // namespace

supervision::child_spec inference_service_child(inference_env_ptr env, bus::bridge_actor bridge) {
  return {"inference", [env = std::move(env), bridge](caf::local_actor& parent) {
            return caf::actor_cast<caf::actor>(parent.spawn(inference_service, env, bridge));
          }};
}

} // namespace troupe::inference
