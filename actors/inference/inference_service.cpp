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
#include "bus/publisher.hpp"
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

/// Publishes a generation's deltas as GenerateChunks on its stream subject,
/// counting those that went out; on whichever thread the deltas come.
class chunk_sender {
public:
  chunk_sender(const troupe::v1::GenerateRequest& req, const bus::transport_ptr& one_way)
      : turn_id_(req.turn_id()), subject_(req.stream_subject()), out_(one_way) {}

  void operator()(std::string_view delta) {
    troupe::v1::GenerateChunk chunk;
    chunk.set_turn_id(turn_id_);
    chunk.set_seq(seq_);
    chunk.set_delta(std::string{delta});
    auto env = bus::make_envelope(chunk);
    if (!out_.publish(subject_, env))
      ++seq_;
  }

  uint32_t sent() const noexcept { return seq_; }

private:
  std::string turn_id_;
  std::string subject_;
  bus::publisher out_;
  uint32_t seq_ = 0;
};

void reply_result(bus::inbound& in, const resolved_model& target,
                  caf::expected<troupe::v1::GenerateResult> result, uint32_t chunks) {
  if (!result)
    return reply_error(in, result.error());
  result->set_provider(target.provider);
  result->set_chunks(chunks);
  if (in.reply->expected())
    (void) in.reply->send(bus::make_reply(in.env, *result));
}

/// The built-in model answers at once, on the service actor (no I/O).
void generate_builtin(dev_model& dev, const resolved_model& target,
                      const troupe::v1::GenerateRequest& req, bus::inbound& in,
                      const bus::transport_ptr& one_way) {
  std::optional<chunk_sender> chunks;
  delta_fn on_delta;
  if (!req.stream_subject().empty()) {
    chunks.emplace(req, one_way);
    on_delta = [&](std::string_view delta) { (*chunks)(delta); };
  }
  auto result = dev.generate(req, target.model, on_delta, nullptr);
  reply_result(in, target, std::move(result), chunks ? chunks->sent() : 0);
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

using self_ptr = caf::stateful_actor<service_state>*;

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
  std::shared_ptr<chunk_sender> chunks;
  if (!req->stream_subject().empty()) {
    chunks = std::make_shared<chunk_sender>(*req, self->state.env->one_way);
    call.on_delta = [chunks](std::string_view delta) { (*chunks)(delta); };
  }
  call.request = std::move(req);
  call.done = [me = caf::actor_cast<caf::actor>(self), target = std::move(target),
               in = std::move(in), chunks, key = std::move(key),
               number](caf::expected<troupe::v1::GenerateResult> result) mutable {
    reply_result(in, target, std::move(result), chunks ? chunks->sent() : 0);
    caf::anon_send(me, finished_atom::value, key, number);
  };
  return self->state.pool->start(std::move(call));
}

void on_generate(self_ptr self, bus::inbound& in) {
  auto& st = self->state;
  auto req = bus::payload_of<troupe::v1::GenerateRequest>(in);
  if (!req)
    return reply_error(in, req.error());
  const auto& request = **req;
  if (request.messages_size() == 0)
    return reply_error(in, make_error(errc::invalid_request, "a generation needs messages"));
  auto what = request.model().empty() ? std::string{"default"} : request.model();
  auto target = resolve(*st.registry, *st.env->keys, what);
  if (!target)
    return reply_error(in, target.error());
  if (target->builtin())
    return generate_builtin(st.dev, *target, request, in, st.env->one_way);
  if (st.in_flight >= st.env->max_in_flight)
    return reply_error(in, make_error(errc::backend_unavailable,
                                      "too many generations in flight on this node"));
  ++st.in_flight;
  auto key = in.env.tenant() + "/" + request.turn_id();
  bool cancellable = !request.turn_id().empty();
  running_call call{++st.calls, {}};
  call.handle = start_provider_call(self, std::move(*target), std::move(*req), std::move(in), key,
                                    call.number);
  if (cancellable)
    st.running[key] = call;
}

/// A CancelTurn for a generation this node runs: its provider call stops
/// (the caller has stopped waiting; the tokens would be wasted).
void on_cancel(self_ptr self, const bus::inbound& in) {
  auto cancel = bus::payload_of<troupe::v1::CancelTurn>(in);
  if (!cancel)
    return reply_error(in, cancel.error());
  const auto& turn_id = (*cancel)->turn_id();
  auto it = self->state.running.find(in.env.tenant() + "/" + turn_id);
  troupe::v1::TurnCancelled ack;
  ack.set_turn_id(turn_id);
  if (it != self->state.running.end()) {
    self->state.pool->cancel(it->second.handle);
    ack.set_was_running(true);
  }
  if (in.reply->expected())
    (void) in.reply->send(bus::make_reply(in.env, ack));
}

caf::behavior inference_service(self_ptr self, inference_env_ptr env, bus::bridge_actor bridge) {
  self->state.env = std::move(env);
  auto& st = self->state;
  try {
    st.pool = std::make_unique<provider_pool>(st.env->settings.provider_threads);
  } catch (const std::exception& e) {
    log::get("inference")->error("inference service cannot start its provider threads: {}",
                                 e.what());
    self->quit(make_error(errc::backend_unavailable, e.what()));
    return {};
  }
  // Generations on the queue group (one instance each); cancellations on
  // the broadcast subject (every instance, the one running the turn acts).
  for (auto [subject, queue] : {std::pair{*st.env->subjects.svc("inference"), std::string{"inference"}},
                                std::pair{*st.env->subjects.broadcast("inference", "cancel"), std::string{}}})
    self->request(bridge, 5s, serve_atom::value, subject, queue, caf::actor_cast<caf::actor>(self),
                  false)
      .then([](bool) {},
            [self](const caf::error& err) {
              log::get("inference")->error("inference service cannot serve: {}",
                                           self->system().render(err));
              self->quit(err);
            });
  refresh(self);
  return {
    [self](inbound_atom, bus::inbound& in) {
      if (bus::answer_ping(in, self->state.env->node_id))
        return;
      // Work is done on someone's behalf: the bridge verified the principal
      // if one came; here it must have come.
      if (!in.env.has_principal())
        return reply_error(in, bus::make_error(bus::errc::principal_missing,
                                               "svc.inference needs a signed principal"));
      const auto& type = in.env.payload_type();
      if (type == "troupe.v1.GenerateRequest")
        return on_generate(self, in);
      if (type == "troupe.v1.CancelTurn")
        return on_cancel(self, in);
      if (type == "troupe.v1.ListModels") {
        if (in.reply->expected())
          (void) in.reply->send(bus::make_reply(in.env, list_models(*self->state.registry)));
        return;
      }
      reply_error(in, make_error(errc::invalid_request, "svc.inference does not handle " + type));
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
