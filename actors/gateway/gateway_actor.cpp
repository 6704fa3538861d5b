#include "actors/gateway/gateway_actor.hpp"

#include <caf/all.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "actors/gateway/error_status.hpp"
#include "actors/gateway/session_placement.hpp"
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

using probe_atom = caf::atom_constant<caf::atom("probe")>;

using gateway_impl =
  gateway_actor::extend<caf::reacts_to<bus::in<troupe::v1::Ping>>,
                        caf::reacts_to<bus::in<troupe::v1::Heartbeat>>,
                        caf::reacts_to<probe_atom>>::extend_with<bus::request_client_actor>;

using clock = std::chrono::steady_clock;

constexpr size_t max_cached_owners = 100'000;
/// How many times one turn may be sent again (its host died, then the next).
constexpr unsigned max_resends = 2;
/// How many times svc.session is asked again when a re-activation got no
/// answer: the queue group may have handed it to the hung node itself.
constexpr unsigned max_relocates = 4;

struct turn_ctx {
  chat_job job;
  session_id session;   // empty until svc.session has found or made it
  node_id owner;
  unsigned resends = 0;
  unsigned relocates = 0;
  std::optional<uint64_t> token; // the TurnRequest in flight
  clock::time_point sent_at;
};

struct gw_state {
  gateway_config cfg;
  bus::subjects subjects{"troupe"};
  std::optional<bus::request_client> client;
  std::unordered_map<session_id, node_id> owners; // who hosts a session, as last found
  std::unordered_map<turn_id, turn_ctx> turns;
  std::unordered_map<uint64_t, query_job> queries; // local id -> caller
  uint64_t next_query = 0;
  std::unordered_set<node_id> probing; // owners whose Ping is out
  std::unordered_map<node_id, clock::time_point> heard_from; // owners of turns in flight
  bool probe_armed = false;
  session_placement placement{std::chrono::seconds{6}};
  static inline const char* name = "gateway";

  // A gateway that ends (restarted, or the node stopping) answers every
  // caller now: nobody waits for a timeout on a turn nobody will finish.
  ~gw_state() {
    api_error gone{503, "backend_unavailable", "the gateway restarted; retry"};
    for (auto& [id, t] : turns)
      t.job.done(gone);
    for (auto& [id, q] : queries)
      q.done(bus::make_error(bus::errc::not_connected, "the gateway restarted; retry"));
  }
};

using self_ptr = gateway_impl::stateful_pointer<gw_state>;

/// `msg` in an envelope that names this gateway as its sender.
troupe::v1::Envelope from_gateway(self_ptr self, const google::protobuf::Message& msg) {
  auto env = bus::make_envelope(msg);
  env.mutable_from()->set_cluster(self->state.cfg.cluster);
  env.mutable_from()->set_node(self->state.cfg.node_id);
  env.mutable_from()->set_kind("gateway");
  return env;
}

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
  auto env = from_gateway(self, msg);
  env.set_tenant(who.tenant());
  *env.mutable_principal() = std::move(*signed_principal);
  return env;
}

/// Replies to a caller's request must come from a service acting for that caller.
bus::call_options for_caller(const troupe::v1::Principal& who) {
  bus::call_options opts;
  opts.owner = bus::reply_owner{tenant_id{who.tenant()}, user_id{who.user()}};
  return opts;
}

/// Where a session request goes: the least loaded live session node (not
/// `avoid`), or the queue group while the gateway knows none.
struct session_target {
  std::string subject;
  node_id node; // empty: the queue group
};

session_target session_service(self_ptr self, const node_id& avoid = {}) {
  auto& st = self->state;
  if (auto node = st.placement.pick(clock::now(), avoid))
    if (auto subject = st.subjects.node_svc(node->str(), "session"))
      return {std::move(*subject), *node};
  return {*st.subjects.svc("session"), {}};
}

/// A chosen node that did not take a request (nobody subscribed, or no
/// answer) is not chosen again until its next heartbeat.
bool chosen_node_failed(self_ptr self, const node_id& node, const caf::error& err) {
  if (node.empty() || !(bus::is(err, bus::errc::no_responders) || bus::is(err, bus::errc::timeout)))
    return false;
  self->state.placement.gone(node);
  return true;
}

void finish(self_ptr self, const turn_id& turn, result<troupe::v1::TurnResult> r) {
  auto& st = self->state;
  auto it = st.turns.find(turn);
  if (it == st.turns.end())
    return;
  auto done = std::move(it->second.job.done);
  st.turns.erase(it);
  done(std::move(r));
}

void send_turn(self_ptr self, const turn_id& turn);
void resend(self_ptr self, const turn_id& turn);
void arm_probe(self_ptr self);

/// Asks svc.session where the turn's session lives (activating it there),
/// then sends the turn to it.
void locate(self_ptr self, const turn_id& turn, const node_id& failed_owner) {
  auto& st = self->state;
  auto& t = st.turns.at(turn);
  troupe::v1::ActivateSession req;
  req.set_session_id(t.session.str());
  req.set_external_key(t.session.empty() ? t.job.in.session_key : std::string{});
  req.set_failed_owner(failed_owner.str());
  auto env = addressed(self, req, t.job.in.principal);
  if (!env)
    return finish(self, turn, api_error_of(env.error()));
  // Re-activating after a host died: a node that takes the request answers
  // within a probe or two; one that does not is likely hung.
  auto timeout = failed_owner.empty() ? st.cfg.request_timeout
                                      : std::min(st.cfg.request_timeout,
                                                 std::max(4 * st.cfg.owner_probe_interval,
                                                          std::chrono::milliseconds{200}));
  auto target = session_service(self, failed_owner);
  st.client->request(
    self, target.subject, std::move(*env), timeout,
    [self, turn, failed_owner, chosen = target.node](caf::expected<bus::reply> reply) {
      auto& st = self->state;
      auto it = st.turns.find(turn);
      if (it == st.turns.end())
        return;
      auto loc = bus::reply_as<troupe::v1::SessionLocation>(reply);
      // Activation is idempotent: asked again, the next node finds or
      // claims the same session.
      if (!loc && it->second.relocates < max_relocates
          && (chosen_node_failed(self, chosen, loc.error())
              || (!failed_owner.empty() && bus::is(loc.error(), bus::errc::timeout)))) {
        ++it->second.relocates;
        return locate(self, turn, failed_owner);
      }
      if (!loc)
        return finish(self, turn, api_error_of(loc.error()));
      if (st.owners.size() >= max_cached_owners)
        st.owners.clear();
      it->second.session = session_id{(*loc)->session_id()};
      it->second.owner = node_id{(*loc)->node()};
      st.owners[it->second.session] = it->second.owner;
      send_turn(self, turn);
    },
    for_caller(t.job.in.principal));
}

void send_turn(self_ptr self, const turn_id& turn) {
  auto& st = self->state;
  auto& t = st.turns.at(turn);
  troupe::v1::TurnRequest req;
  req.set_session_id(t.session.str());
  req.set_turn_id(turn.str());
  req.set_message(t.job.in.message);
  req.set_model(t.job.in.model);
  req.set_stream(t.job.in.stream);
  for (const auto& m : t.job.in.extra_messages)
    *req.add_extra_messages() = m;
  auto env = addressed(self, req, t.job.in.principal);
  if (!env)
    return finish(self, turn, api_error_of(env.error()));
  env->set_deadline_unix_ms(bus::now_unix_ms() + st.cfg.turn_timeout.count());
  auto subject = st.subjects.direct(t.owner.str(), "session", t.session.str());
  if (!subject)
    return finish(self, turn, api_error_of(subject.error()));
  auto opts = for_caller(t.job.in.principal);
  if (t.job.in.stream)
    opts.on_partial = [self, turn](bus::reply r) {
      auto& st = self->state;
      auto it = st.turns.find(turn);
      auto chunk = bus::reply_as<troupe::v1::TurnChunk>(r);
      if (it == st.turns.end())
        return;
      st.heard_from[it->second.owner] = clock::now();
      if (chunk && it->second.job.on_chunk)
        it->second.job.on_chunk(**chunk);
    };
  st.client->request(
    self, *subject, std::move(*env), st.cfg.turn_timeout,
    [self, turn](caf::expected<bus::reply> reply) {
      auto& st = self->state;
      auto it = st.turns.find(turn);
      if (it == st.turns.end())
        return;
      auto& t = it->second;
      t.token.reset();
      auto res = bus::reply_as<troupe::v1::TurnResult>(reply);
      if (res)
        return finish(self, turn, **res);
      auto e = bus::error_payload(res.error());
      // Nobody got the turn: the owner is gone or gave the session up.
      bool not_delivered = e.code() == "no_responders" || e.code() == "session_moved";
      if (not_delivered && t.resends < max_resends)
        return resend(self, turn);
      finish(self, turn, api_error_of(e));
    },
    std::move(opts));
  // A request that failed before it was sent has finished the turn already.
  if (auto it = st.turns.find(turn); it != st.turns.end()) {
    it->second.token = st.client->last_token();
    it->second.sent_at = clock::now();
    if (it->second.owner.str() != st.cfg.node_id) {
      st.heard_from.try_emplace(it->second.owner, it->second.sent_at);
      arm_probe(self);
    }
  }
}

/// The session's host did not get the turn, or died with it: the session is
/// re-activated elsewhere (the old owner named, so its directory entry may be
/// taken over) and gets the turn again under the same id.
void resend(self_ptr self, const turn_id& turn) {
  auto& st = self->state;
  auto& t = st.turns.at(turn);
  ++t.resends;
  st.owners.erase(t.session);
  locate(self, turn, t.owner);
}

void owner_gone(self_ptr self, const node_id& owner, std::string_view why) {
  auto& st = self->state;
  std::vector<turn_id> lost;
  for (auto& [id, t] : st.turns)
    if (t.owner == owner && t.token)
      lost.push_back(id);
  st.placement.gone(owner);
  if (!lost.empty())
    log::get("gateway")->warn("node {} {} with {} turn(s) in flight: sending them again", owner,
                              why, lost.size());
  st.heard_from.erase(owner);
  for (const auto& id : lost) {
    auto& t = st.turns.at(id);
    st.client->abandon(*t.token);
    t.token.reset();
    if (t.resends < max_resends)
      resend(self, id);
    else
      finish(self, id,
             api_error{503, "backend_unavailable", "the nodes hosting the session kept dying"});
  }
}

/// Pings the control subject of every other node that has had a turn of
/// ours for a probe interval; nobody answering means its process is gone,
/// and so does silence for the silence limit.
void probe_owners(self_ptr self) {
  auto& st = self->state;
  st.probe_armed = false;
  auto now = clock::now();
  std::unordered_set<node_id> waiting, due;
  for (auto& [id, t] : st.turns) {
    if (!t.token || t.owner.str() == st.cfg.node_id)
      continue;
    waiting.insert(t.owner);
    if (now - t.sent_at >= st.cfg.owner_probe_interval && !st.probing.count(t.owner))
      due.insert(t.owner);
  }
  std::erase_if(st.heard_from, [&](const auto& kv) { return !waiting.count(kv.first); });
  for (const auto& owner : due) {
    auto subject = st.subjects.ctl(owner.str());
    if (!subject)
      continue;
    st.probing.insert(owner);
    st.client->request(self, *subject, from_gateway(self, troupe::v1::Ping{}),
                       st.cfg.owner_probe_interval,
                       [self, owner](caf::expected<bus::reply> reply) {
                         auto& st = self->state;
                         st.probing.erase(owner);
                         auto now = clock::now();
                         if (reply) {
                           st.heard_from[owner] = now;
                           return;
                         }
                         if (bus::is(reply.error(), bus::errc::no_responders))
                           return owner_gone(self, owner, "is gone");
                         // One slow answer is a busy node; silence past the limit is not.
                         auto heard = st.heard_from.find(owner);
                         if (heard != st.heard_from.end()
                             && now - heard->second >= st.cfg.owner_silence_limit)
                           owner_gone(self, owner, "has not answered for the silence limit");
                       });
  }
  if (!waiting.empty())
    arm_probe(self);
}

void arm_probe(self_ptr self) {
  auto& st = self->state;
  if (st.probe_armed)
    return;
  st.probe_armed = true;
  self->delayed_send(self, st.cfg.owner_probe_interval, probe_atom::value);
}

void start_chat(self_ptr self, chat_job& job) {
  auto& st = self->state;
  auto turn = job.turn;
  auto& t = st.turns[turn];
  t.session = session_id{job.in.session_id};
  t.job = std::move(job);
  if (auto it = st.owners.find(t.session); !t.session.empty() && it != st.owners.end()) {
    t.owner = it->second;
    send_turn(self, turn);
  } else {
    locate(self, turn, {});
  }
}

void cancel(self_ptr self, const turn_id& turn) {
  auto& st = self->state;
  auto it = st.turns.find(turn);
  if (it == st.turns.end())
    return;
  auto& t = it->second;
  if (t.token) {
    st.client->abandon(*t.token);
    troupe::v1::CancelTurn req;
    req.set_session_id(t.session.str());
    req.set_turn_id(turn.str());
    if (auto env = addressed(self, req, t.job.in.principal))
      if (auto subject = st.subjects.direct(t.owner.str(), "session", t.session.str()))
        st.client->request(self, *subject, std::move(*env), st.cfg.request_timeout,
                           [](caf::expected<bus::reply>) {}, for_caller(t.job.in.principal));
  }
  finish(self, turn, api_error{499, "cancelled", "the client went away"});
}

void send_query(self_ptr self, uint64_t id, troupe::v1::Envelope env, bool retried);

void query(self_ptr self, query_job& job) {
  auto& st = self->state;
  auto env = addressed(self, job.payload, job.who);
  if (!env)
    return job.done(env.error());
  env->set_payload_type(job.payload.payload_type());
  env->set_payload(job.payload.payload());
  if (!st.subjects.svc(job.kind))
    return job.done(st.subjects.svc(job.kind).error());
  auto id = st.next_query++;
  st.queries.emplace(id, std::move(job));
  send_query(self, id, std::move(*env), false);
}

void send_query(self_ptr self, uint64_t id, troupe::v1::Envelope env, bool retried) {
  auto& st = self->state;
  auto& q = st.queries.at(id);
  session_target target{*st.subjects.svc(q.kind), {}};
  if (q.kind == "session")
    target = session_service(self);
  // Kept for a second attempt, which only a request nobody received gets.
  auto again = target.node.empty() || retried ? troupe::v1::Envelope{} : env;
  st.client->request(
    self, target.subject, std::move(env), st.cfg.request_timeout,
    [self, id, chosen = target.node, again = std::move(again)](caf::expected<bus::reply> reply) mutable {
      auto& st = self->state;
      auto it = st.queries.find(id);
      if (it == st.queries.end())
        return;
      if (!reply && chosen_node_failed(self, chosen, reply.error())
          && bus::is(reply.error(), bus::errc::no_responders) && again.ByteSizeLong() > 0)
        return send_query(self, id, std::move(again), true);
      auto job = std::move(it->second);
      st.queries.erase(it);
      if (reply && !job.forget_session.empty())
        st.owners.erase(session_id{job.forget_session});
      job.done(std::move(reply));
    },
    for_caller(q.who));
}

void heard(self_ptr self, const troupe::v1::Heartbeat& hb) {
  for (const auto& role : hb.roles())
    if (role == "session")
      return self->state.placement.heard(node_id{hb.node_id()}, hb.sessions_active(), hb.ready(),
                                         clock::now());
}

gateway_impl::behavior_type gateway_fn(self_ptr self, gateway_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.subjects = bus::subjects{st.cfg.cluster};
  st.placement = session_placement{st.cfg.node_expiry};
  st.client.emplace(st.cfg.transport,
                    bus::request_options{st.cfg.max_envelope_bytes, st.cfg.keys, st.cfg.metrics});
  self->request(st.cfg.bridge, 5s, serve_atom::value, *st.subjects.svc("gateway"),
                std::string{"gateway"}, bus::dispatch::to<troupe::v1::Ping>(self), false)
    .then([](bool) {},
          [self](const caf::error& err) {
            log::get("gateway")->error("cannot serve svc.gateway: {}", bus::describe(err));
            self->quit(err);
          });
  self->request(st.cfg.bridge, 5s, serve_atom::value, *st.subjects.heartbeat("*"), std::string{},
                bus::dispatch::to<troupe::v1::Heartbeat>(self), false)
    .then([](bool) {},
          [self](const caf::error& err) {
            log::get("gateway")->error("cannot hear heartbeats: {}", bus::describe(err));
            self->quit(err);
          });
  return {
    [self](chat_atom, chat_job& job) { start_chat(self, job); },
    [self](query_atom, query_job& job) { query(self, job); },
    [self](cancel_atom, const turn_id& turn) { cancel(self, turn); },
    [self](bus::in<troupe::v1::Ping>& in) { bus::answer_ping(in.raw, self->state.cfg.node_id); },
    [self](bus::in<troupe::v1::Heartbeat>& in) { heard(self, in.msg()); },
    [self](probe_atom) { probe_owners(self); },
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
