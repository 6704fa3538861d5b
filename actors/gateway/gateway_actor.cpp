#include "actors/gateway/gateway_actor.hpp"

#include <caf/all.hpp>
#include <optional>
#include <unordered_map>

#include "actors/gateway/error_status.hpp"
#include "bus/dispatch.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/ping.hpp"
#include "bus/subjects.hpp"
#include "common/ids.hpp"
#include "common/logging.hpp"
#include "troupe/v1/node.pb.h"

namespace troupe::gateway {

namespace {

using namespace std::chrono_literals;

using gateway_impl =
  gateway_actor::extend<caf::reacts_to<bus::in<troupe::v1::Ping>>>::extend_with<
    bus::request_client_actor>;

constexpr size_t max_cached_owners = 100'000;

struct turn_ctx {
  chat_job job;
  std::string session_id;
  std::string owner;
  bool resent = false;
  std::optional<uint64_t> token; // the TurnRequest in flight
};

struct gw_state {
  gateway_config cfg;
  bus::subjects subjects{"troupe"};
  std::optional<bus::request_client> client;
  std::unordered_map<std::string, std::string> owners; // session id -> node
  std::unordered_map<std::string, turn_ctx> turns;      // turn id -> turn
  std::unordered_map<uint64_t, reply_fn> queries;       // local id -> caller
  uint64_t next_query = 0;
  static inline const char* name = "gateway";

  // A gateway that ends (restarted, or the node stopping) answers every
  // caller now: nobody waits for a timeout on a turn nobody will finish.
  ~gw_state() {
    api_error gone{503, "backend_unavailable", "the gateway restarted; retry"};
    for (auto& [id, t] : turns)
      t.job.done(gone);
    for (auto& [id, done] : queries)
      done(bus::make_error(bus::errc::not_connected, "the gateway restarted; retry"));
  }
};

using self_ptr = gateway_impl::stateful_pointer<gw_state>;

/// The principal as the gateway vouches for it: signed, valid for the turn.
caf::expected<troupe::v1::Envelope> addressed(self_ptr self, const google::protobuf::Message& msg,
                                              troupe::v1::Principal who) {
  auto& st = self->state;
  auto now = bus::now_unix_ms();
  who.set_issued_unix_ms(now);
  who.set_expires_unix_ms(now + st.cfg.turn_timeout.count() + 60'000);
  auto signed_principal = st.cfg.keys->sign(who);
  if (!signed_principal)
    return signed_principal.error();
  auto env = bus::make_envelope(msg);
  env.set_tenant(who.tenant());
  *env.mutable_principal() = std::move(*signed_principal);
  env.mutable_from()->set_cluster(st.cfg.cluster);
  env.mutable_from()->set_node(st.cfg.node_id);
  env.mutable_from()->set_kind("gateway");
  return env;
}

/// Replies to a caller's request must come from a service acting for that caller.
bus::call_options for_caller(const troupe::v1::Principal& who) {
  bus::call_options opts;
  opts.owner = bus::reply_owner{tenant_id{who.tenant()}, user_id{who.user()}};
  return opts;
}

void finish(self_ptr self, const std::string& turn_id, result<troupe::v1::TurnResult> r) {
  auto& st = self->state;
  auto it = st.turns.find(turn_id);
  if (it == st.turns.end())
    return;
  auto done = std::move(it->second.job.done);
  st.turns.erase(it);
  done(std::move(r));
}

void send_turn(self_ptr self, const std::string& turn_id);

/// Asks svc.session where the turn's session lives (activating it there),
/// then sends the turn to it.
void locate(self_ptr self, const std::string& turn_id, const std::string& failed_owner) {
  auto& st = self->state;
  auto& t = st.turns.at(turn_id);
  troupe::v1::ActivateSession req;
  req.set_session_id(t.session_id);
  req.set_external_key(t.session_id.empty() ? t.job.in.session_key : std::string{});
  req.set_failed_owner(failed_owner);
  auto env = addressed(self, req, t.job.in.principal);
  if (!env)
    return finish(self, turn_id, api_error_of(env.error()));
  st.client->request(
    self, *st.subjects.svc("session"), std::move(*env), st.cfg.request_timeout,
    [self, turn_id](caf::expected<bus::reply> reply) {
      auto& st = self->state;
      auto it = st.turns.find(turn_id);
      if (it == st.turns.end())
        return;
      auto loc = bus::reply_as<troupe::v1::SessionLocation>(reply);
      if (!loc)
        return finish(self, turn_id, api_error_of(loc.error()));
      if (st.owners.size() >= max_cached_owners)
        st.owners.clear();
      st.owners[(*loc)->session_id()] = (*loc)->node();
      it->second.session_id = (*loc)->session_id();
      it->second.owner = (*loc)->node();
      send_turn(self, turn_id);
    },
    for_caller(t.job.in.principal));
}

void send_turn(self_ptr self, const std::string& turn_id) {
  auto& st = self->state;
  auto& t = st.turns.at(turn_id);
  troupe::v1::TurnRequest req;
  req.set_session_id(t.session_id);
  req.set_turn_id(turn_id);
  req.set_message(t.job.in.message);
  req.set_model(t.job.in.model);
  req.set_stream(t.job.in.stream);
  for (const auto& m : t.job.in.extra_messages)
    *req.add_extra_messages() = m;
  auto env = addressed(self, req, t.job.in.principal);
  if (!env)
    return finish(self, turn_id, api_error_of(env.error()));
  env->set_deadline_unix_ms(bus::now_unix_ms() + st.cfg.turn_timeout.count());
  auto subject = st.subjects.direct(t.owner, "session", t.session_id);
  if (!subject)
    return finish(self, turn_id, api_error_of(subject.error()));
  auto opts = for_caller(t.job.in.principal);
  if (t.job.in.stream)
    opts.on_partial = [self, turn_id](bus::reply r) {
      auto& st = self->state;
      auto it = st.turns.find(turn_id);
      auto chunk = bus::reply_as<troupe::v1::TurnChunk>(r);
      if (it != st.turns.end() && chunk && it->second.job.on_chunk)
        it->second.job.on_chunk(**chunk);
    };
  st.client->request(
    self, *subject, std::move(*env), st.cfg.turn_timeout,
    [self, turn_id](caf::expected<bus::reply> reply) {
      auto& st = self->state;
      auto it = st.turns.find(turn_id);
      if (it == st.turns.end())
        return;
      auto& t = it->second;
      t.token.reset();
      auto res = bus::reply_as<troupe::v1::TurnResult>(reply);
      if (res)
        return finish(self, turn_id, **res);
      auto e = bus::error_payload(res.error());
      // Nobody got the turn: the owner is gone or gave the session up.
      bool not_delivered = e.code() == "no_responders" || e.code() == "session_moved";
      if (not_delivered && !t.resent) {
        t.resent = true;
        st.owners.erase(t.session_id);
        return locate(self, turn_id, t.owner);
      }
      finish(self, turn_id, api_error_of(e));
    },
    std::move(opts));
  // A request that failed before it was sent has finished the turn already.
  if (auto it = st.turns.find(turn_id); it != st.turns.end())
    it->second.token = st.client->last_token();
}

void start_chat(self_ptr self, chat_job& job) {
  auto& st = self->state;
  auto turn_id = job.turn_id;
  auto& t = st.turns[turn_id];
  t.session_id = job.in.session_id;
  t.job = std::move(job);
  if (auto it = st.owners.find(t.session_id); !t.session_id.empty() && it != st.owners.end()) {
    t.owner = it->second;
    send_turn(self, turn_id);
  } else {
    locate(self, turn_id, {});
  }
}

void cancel(self_ptr self, const std::string& turn_id) {
  auto& st = self->state;
  auto it = st.turns.find(turn_id);
  if (it == st.turns.end())
    return;
  auto& t = it->second;
  if (t.token) {
    st.client->abandon(*t.token);
    troupe::v1::CancelTurn req;
    req.set_session_id(t.session_id);
    req.set_turn_id(turn_id);
    if (auto env = addressed(self, req, t.job.in.principal))
      if (auto subject = st.subjects.direct(t.owner, "session", t.session_id))
        st.client->request(self, *subject, std::move(*env), st.cfg.request_timeout,
                           [](caf::expected<bus::reply>) {}, for_caller(t.job.in.principal));
  }
  finish(self, turn_id, api_error{499, "cancelled", "the client went away"});
}

void query(self_ptr self, query_job& job) {
  auto& st = self->state;
  auto env = addressed(self, job.payload, job.who);
  if (!env)
    return job.done(env.error());
  env->set_payload_type(job.payload.payload_type());
  env->set_payload(job.payload.payload());
  auto subject = st.subjects.svc(job.kind);
  if (!subject)
    return job.done(subject.error());
  auto id = st.next_query++;
  st.queries.emplace(id, std::move(job.done));
  st.client->request(
    self, *subject, std::move(*env), st.cfg.request_timeout,
    [self, id, forget = std::move(job.forget_session)](caf::expected<bus::reply> reply) {
      auto& st = self->state;
      auto it = st.queries.find(id);
      if (it == st.queries.end())
        return;
      auto done = std::move(it->second);
      st.queries.erase(it);
      if (reply && !forget.empty())
        st.owners.erase(forget);
      done(std::move(reply));
    },
    for_caller(job.who));
}

gateway_impl::behavior_type gateway_fn(self_ptr self, gateway_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.subjects = bus::subjects{st.cfg.cluster};
  st.client.emplace(st.cfg.transport,
                    bus::request_options{st.cfg.max_envelope_bytes, st.cfg.keys, st.cfg.metrics});
  self->request(st.cfg.bridge, 5s, serve_atom::value, *st.subjects.svc("gateway"),
                std::string{"gateway"}, bus::dispatch::to<troupe::v1::Ping>(self), false)
    .then([](bool) {},
          [self](const caf::error& err) {
            log::get("gateway")->error("cannot serve svc.gateway: {}", bus::describe(err));
            self->quit(err);
          });
  return {
    [self](chat_atom, chat_job& job) { start_chat(self, job); },
    [self](query_atom, query_job& job) { query(self, job); },
    [self](cancel_atom, const std::string& turn_id) { cancel(self, turn_id); },
    [self](bus::in<troupe::v1::Ping>& in) { bus::answer_ping(in.raw, self->state.cfg.node_id); },
    [self](reply_atom, uint64_t token, bus::message& m) {
      self->state.client->handle_reply(token, m);
    },
    [self](timeout_atom, uint64_t timer) { self->state.client->handle_timeout(timer); },
  };
}

} // namespace

supervision::child_spec gateway_child(gateway_config cfg, gateway_slot_ptr slot) {
  return {"gateway", [cfg = std::move(cfg), slot = std::move(slot)](caf::local_actor& parent) {
            auto gw = parent.spawn(gateway_fn, cfg);
            slot->set(caf::actor_cast<gateway_actor>(gw));
            gw->attach_functor([slot, addr = gw.address()] { slot->clear(addr); });
            return caf::actor_cast<caf::actor>(gw);
          }};
}

} // namespace troupe::gateway
