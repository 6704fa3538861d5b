#include "actors/session/session_host.hpp"

#include <caf/all.hpp>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "actors/session/directory_claim.hpp"
#include "actors/session/errc.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/ping.hpp"
#include "common/logging.hpp"
#include "storage/session_store.hpp"

namespace troupe::session::detail {

/// One activation as it goes through its steps (each on a worker).
struct activation {
  std::string key;                            // what waits on it (the id, or a new id to create)
  std::string id;
  std::optional<troupe::v1::SessionInfo> info; // found (or created)
  std::string owner;                          // after the claim
  std::optional<std::vector<troupe::v1::ChatMessage>> history; // loaded: spawn
  std::optional<troupe::v1::Error> error;
};

/// A deletion: the row is gone; the directory's owner (if any) is told.
struct deletion {
  std::shared_ptr<const bus::in<troupe::v1::DeleteSession>> request;
  std::string owner;
  std::optional<troupe::v1::Error> error;
};

} // namespace troupe::session::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::session::detail::activation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::session::detail::deletion)

namespace troupe::session {

namespace {

using detail::activation;
using detail::deletion;
using found_atom = caf::atom_constant<caf::atom("found")>;
using claimed_atom = caf::atom_constant<caf::atom("claimed")>;
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;
using deleted_atom = caf::atom_constant<caf::atom("deleted")>;
using unclaimed_atom = caf::atom_constant<caf::atom("unclaimed")>;

using host_impl = session_host_actor::extend<caf::reacts_to<found_atom, activation>,
                                             caf::reacts_to<claimed_atom, activation>,
                                             caf::reacts_to<loaded_atom, activation>,
                                             caf::reacts_to<deleted_atom, deletion>,
                                             caf::reacts_to<unclaimed_atom, deletion>>::
  extend_with<bus::request_client_actor>;

/// The sessions live on this node, read by the bus's delivery threads (the
/// router) and written by the host.
struct live_table {
  struct entry {
    session_actor actor;
    std::string tenant, user;
    bool passivating = false;
  };
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, entry> live;
};

/// What waits for a session being activated.
struct pending {
  std::vector<caf::message> direct;                             // envelopes for the session
  std::vector<bus::in<troupe::v1::ActivateSession>> activations; // callers to tell where it is
  bool running = false; // an activation is under way
  std::string failed_owner;
};

struct host_state {
  session_env_ptr env;
  bus::bridge_actor bridge;
  std::shared_ptr<live_table> table = std::make_shared<live_table>();
  std::unordered_map<std::string, pending> waiting;
  std::optional<bus::request_client> client;
  std::string direct_prefix; // "troupe.<c>.node.<n>.session.": a direct subject less its id
  static inline const char* name = "session_host";

  // Sessions live as long as their host: a stopping node must not wait for
  // each one's idle timeout.
  ~host_state() {
    std::unique_lock lk{table->mutex};
    for (auto& [id, e] : table->live)
      caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
  }
};

using self_ptr = host_impl::stateful_pointer<host_state>;

/// The entry for `id` when it is live (routed to, or passivating); null
/// otherwise. Read on the host's thread, the table's only writer: no lock.
const live_table::entry* live(self_ptr self, const std::string& id) {
  auto& t = self->state.table->live;
  auto it = t.find(id);
  return it == t.end() ? nullptr : &it->second;
}

void reply_error(const bus::inbound& in, troupe::v1::Error err) {
  if (in.reply->expected())
    (void) in.reply->send(bus::error_reply(in.env, std::move(err)));
}

void reply_error(const bus::inbound& in, const caf::error& err) {
  reply_error(in, bus::error_payload(err));
}

troupe::v1::Error not_found(const std::string& id) {
  return error_of(errc::session_not_found, "no session " + id);
}

bool owns(const troupe::v1::SessionInfo& s, const troupe::v1::Principal& who) {
  return s.tenant() == who.tenant() && s.user() == who.user();
}

void answer_location(const bus::in<troupe::v1::ActivateSession>& in, const std::string& id,
                     const std::string& node) {
  troupe::v1::SessionLocation loc;
  loc.set_session_id(id);
  loc.set_node(node);
  if (in.reply().expected())
    (void) in.reply().send(bus::make_reply(in.env(), loc));
}

/// Where the session is, for a caller that owns it; not_found for anyone else.
void tell(const bus::in<troupe::v1::ActivateSession>& in, const activation& a,
          const std::string& node) {
  if (!a.info || !in.principal() || !owns(*a.info, *in.principal()))
    return reply_error(in.raw, not_found(a.id));
  answer_location(in, a.id, node);
}

activation_outcome outcome_of(const troupe::v1::Error& e) {
  if (e.code() == "session_moved")
    return activation_outcome::moved;
  if (e.code() == "session_not_found")
    return activation_outcome::not_found;
  return activation_outcome::error;
}

/// The activation of `a.id` ended without a session here: everyone waiting
/// hears why (an ActivateSession caller hears where it lives, when known).
void activation_failed(self_ptr self, const activation& a) {
  auto& st = self->state;
  auto p = std::move(st.waiting[a.key]);
  st.waiting.erase(a.key);
  st.env->metrics->activation(a.error ? outcome_of(*a.error) : activation_outcome::moved);
  auto err = a.error ? *a.error
                     : error_of(errc::session_moved,
                                "session " + a.id + " is hosted by " + a.owner);
  for (auto& in : p.activations) {
    if (a.error)
      reply_error(in.raw, err);
    else
      tell(in, a, a.owner);
  }
  // Direct envelopes carry their own request: answered with the error (a
  // gateway that hears session_moved asks svc.session again).
  for (auto& msg : p.direct) {
    const bus::inbound* raw = nullptr;
    if (msg.match_elements<bus::in<troupe::v1::TurnRequest>>())
      raw = &msg.get_as<bus::in<troupe::v1::TurnRequest>>(0).raw;
    else if (msg.match_elements<bus::in<troupe::v1::CancelTurn>>())
      raw = &msg.get_as<bus::in<troupe::v1::CancelTurn>>(0).raw;
    if (raw)
      reply_error(*raw, err);
  }
}

/// Step 1, on a store worker: the session row (created when the caller asks
/// for a new one).
void find(self_ptr self, std::string id, std::optional<troupe::v1::Principal> creator,
          std::string external_key) {
  auto& st = self->state;
  auto me = caf::actor_cast<caf::actor>(self);
  auto key = creator ? creator->tenant() + "/" + creator->user() : id;
  st.env->store->run(key, [me, id, creator = std::move(creator),
                           external_key = std::move(external_key)](
                            caf::expected<storage::connection*> conn) {
    activation a;
    a.key = a.id = id;
    if (!conn) {
      a.error = bus::error_payload(conn.error());
    } else if (creator) {
      auto created = storage::find_or_create_session(**conn, id, creator->tenant(),
                                                     creator->user(), external_key);
      if (created)
        a.info = std::move(*created), a.id = a.info->id();
      else
        a.error = bus::error_payload(created.error());
    } else {
      auto found = storage::find_session(**conn, id);
      if (!found)
        a.error = bus::error_payload(found.error());
      else if (!*found)
        a.error = not_found(id);
      else
        a.info = std::move(**found);
    }
    caf::anon_send(me, found_atom::value, std::move(a));
  });
}

void start_activation(self_ptr self, const std::string& id) {
  auto& p = self->state.waiting[id];
  if (p.running)
    return;
  p.running = true;
  find(self, id, std::nullopt, {});
}

/// Step 2, on a directory worker: the claim.
void on_found(self_ptr self, activation& a) {
  auto& st = self->state;
  if (a.error)
    return activation_failed(self, a);
  if (a.key != a.id) {
    // Created under an id of its own, or the caller's external key named
    // an existing session: its callers now wait on that id.
    auto moved = std::move(st.waiting[a.key]);
    st.waiting.erase(a.key);
    a.key = a.id;
    if (live(self, a.id)) {
      for (auto& in : moved.activations)
        tell(in, a, st.env->node_id);
      return;
    }
    auto& p = st.waiting[a.id];
    for (auto& in : moved.activations)
      p.activations.push_back(std::move(in));
    if (p.running)
      return; // its activation is under way already
    p.running = true;
  }
  auto failed_owner = st.waiting[a.id].failed_owner;
  auto me = caf::actor_cast<caf::actor>(self);
  auto key = a.id; // read before the job takes `a`
  st.env->directory_workers->run(key, [me, env = st.env, a = std::move(a), failed_owner]() mutable {
    auto owner = claim_session(*env->directory, a.id, env->node_id, failed_owner);
    if (owner)
      a.owner = std::move(*owner);
    else
      a.error = bus::error_payload(owner.error());
    caf::anon_send(me, claimed_atom::value, std::move(a));
  });
}

/// Step 3, on a store worker: this node owns it: its history.
void on_claimed(self_ptr self, activation& a) {
  auto& st = self->state;
  if (a.error || a.owner != st.env->node_id)
    return activation_failed(self, a);
  auto me = caf::actor_cast<caf::actor>(self);
  auto key = a.id; // read before the job takes `a`
  st.env->store->run(key, [me, limit = st.env->settings.max_history_messages,
                            a = std::move(a)](caf::expected<storage::connection*> conn) mutable {
    auto history = conn ? storage::load_messages(**conn, a.id, limit)
                        : caf::expected<std::vector<troupe::v1::ChatMessage>>{conn.error()};
    if (history)
      a.history = std::move(*history);
    else
      a.error = bus::error_payload(history.error());
    caf::anon_send(me, loaded_atom::value, std::move(a));
  });
}

/// Step 4: spawn, route to it, hand it what waited.
void on_loaded(self_ptr self, activation& a) {
  auto& st = self->state;
  if (a.error)
    return activation_failed(self, a);
  auto p = std::move(st.waiting[a.id]);
  st.waiting.erase(a.id);
  auto session = spawn_session(self->system(), st.env,
                               {*a.info, std::move(*a.history), caf::actor_cast<caf::actor>(self)});
  self->monitor(session);
  {
    std::unique_lock lk{st.table->mutex};
    st.table->live[a.id] = {session, a.info->tenant(), a.info->user(), false};
  }
  st.env->metrics->activation(activation_outcome::hosted);
  st.env->metrics->active(1);
  log::get("session")->debug("session {} activated on {}", a.id, st.env->node_id);
  for (auto& msg : p.direct)
    caf::anon_send(caf::actor_cast<caf::actor>(session), std::move(msg));
  for (auto& in : p.activations)
    tell(in, a, st.env->node_id);
}

void on_activate(self_ptr self, bus::in<troupe::v1::ActivateSession>& in) {
  auto& st = self->state;
  if (!in.principal())
    return reply_error(in.raw, error_of(errc::principal_missing,
                                        "session requests need a signed principal"));
  const auto& who = *in.principal();
  auto id = in.msg().session_id();
  if (id.empty()) {
    // A new session: created first (its id is new, so nobody waits on it yet).
    auto& p = st.waiting[id = bus::new_message_id()];
    p.running = true;
    p.activations.push_back(std::move(in));
    const auto& req = p.activations.back();
    return find(self, id, *req.principal(), req.msg().external_key());
  }
  if (!bus::valid_token(id))
    return reply_error(in.raw, not_found(id));
  if (auto* e = live(self, id)) {
    if (e->tenant != who.tenant() || e->user != who.user())
      return reply_error(in.raw, not_found(id));
    return answer_location(in, id, st.env->node_id);
  }
  auto& p = st.waiting[id];
  if (!in.msg().failed_owner().empty())
    p.failed_owner = in.msg().failed_owner();
  p.activations.push_back(std::move(in));
  if (p.running)
    return;
  p.running = true;
  find(self, id, std::nullopt, {});
}

/// An envelope for a session that is not routed to here (not live, or
/// passivating): it waits for the session.
void on_direct(self_ptr self, const std::string& subject, caf::message msg) {
  auto& st = self->state;
  const auto& prefix = st.direct_prefix;
  auto id = subject.size() > prefix.size() ? subject.substr(prefix.size()) : std::string{};
  if (auto* e = live(self, id); e && !e->passivating) {
    // Routed here just before it became live again.
    caf::anon_send(caf::actor_cast<caf::actor>(e->actor), std::move(msg));
    return;
  }
  st.waiting[id].direct.push_back(std::move(msg));
  if (!live(self, id))
    start_activation(self, id);
}

template <class Fn>
void with_caller(self_ptr self, const bus::inbound& in, Fn fn) {
  if (!in.principal)
    return reply_error(in, error_of(errc::principal_missing,
                                    "session requests need a signed principal"));
  // One worker per caller keeps one user's requests in order.
  auto who = *in.principal;
  auto key = who.tenant() + "/" + who.user();
  self->state.env->store->run(key, [fn = std::move(fn), who = std::move(who)](
                                     caf::expected<storage::connection*> conn) mutable {
    fn(conn, who);
  });
}

void on_delete(self_ptr self, bus::in<troupe::v1::DeleteSession>& in) {
  auto req = std::make_shared<const bus::in<troupe::v1::DeleteSession>>(std::move(in));
  auto me = caf::actor_cast<caf::actor>(self);
  with_caller(self, req->raw, [me, req](caf::expected<storage::connection*> conn,
                                           const troupe::v1::Principal& who) {
    deletion d{req, {}, std::nullopt};
    const auto& id = req->msg().session_id();
    auto deleted = conn ? storage::delete_session(**conn, who.tenant(), who.user(), id)
                        : caf::expected<bool>{conn.error()};
    if (!deleted)
      d.error = bus::error_payload(deleted.error());
    else if (!*deleted)
      d.error = not_found(id);
    caf::anon_send(me, deleted_atom::value, std::move(d));
  });
}

/// The row is gone: the directory forgets the session, and its owner hears.
void on_deleted(self_ptr self, deletion& d) {
  auto& st = self->state;
  if (d.error)
    return reply_error(d.request->raw, *d.error);
  auto me = caf::actor_cast<caf::actor>(self);
  auto key = d.request->msg().session_id();
  st.env->directory_workers->run(key, [me, env = st.env, d = std::move(d)]() mutable {
    const auto& id = d.request->msg().session_id();
    if (auto entry = env->directory->get(id); entry && entry->op == bus::kv_op::put)
      d.owner = entry->value;
    // The next activation of this id finds no row: a directory entry left
    // behind by a failed removal is harmless.
    if (auto err = env->directory->remove(id))
      log::get("session")->warn("session {}: directory entry not removed: {}", id,
                                bus::describe(err));
    caf::anon_send(me, unclaimed_atom::value, std::move(d));
  });
}

void on_unclaimed(self_ptr self, deletion& d) {
  auto& st = self->state;
  const auto& id = d.request->msg().session_id();
  troupe::v1::SessionDeleted out;
  out.set_session_id(id);
  auto answer = [req = d.request, out] {
    if (req->reply().expected())
      (void) req->reply().send(bus::make_reply(req->env(), out));
  };
  auto subject = d.owner.empty() ? caf::expected<std::string>{caf::error{}}
                                 : st.env->subjects.direct(d.owner, "session", id);
  if (d.owner.empty() || !subject)
    return answer();
  // The live actor (wherever it is) stops and drops its history before the
  // caller hears the session is gone; an owner that does not answer has
  // nothing live.
  auto env = bus::make_envelope(out);
  env.set_tenant(d.request->env().tenant());
  *env.mutable_principal() = d.request->env().principal();
  st.client->request(self, *subject, std::move(env), st.env->request_timeout,
                     [answer](caf::expected<bus::reply>) { answer(); });
}

void on_passivate(self_ptr self, const std::string& id) {
  auto& st = self->state;
  {
    std::unique_lock lk{st.table->mutex};
    auto it = st.table->live.find(id);
    if (it == st.table->live.end())
      return;
    it->second.passivating = true;
  }
  // Everything routed to it before the mark is in its mailbox already.
  caf::anon_send(caf::actor_cast<caf::actor>(live(self, id)->actor), passivate_atom::value);
}

void on_resume(self_ptr self, const std::string& id) {
  auto& st = self->state;
  session_actor target;
  {
    std::unique_lock lk{st.table->mutex};
    auto it = st.table->live.find(id);
    if (it == st.table->live.end())
      return;
    it->second.passivating = false;
    target = it->second.actor;
  }
  if (auto w = st.waiting.find(id); w != st.waiting.end()) {
    for (auto& msg : w->second.direct)
      caf::anon_send(caf::actor_cast<caf::actor>(target), std::move(msg));
    w->second.direct.clear();
    if (w->second.activations.empty() && !w->second.running)
      st.waiting.erase(w);
  }
}

void on_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  std::string id;
  {
    std::unique_lock lk{st.table->mutex};
    for (auto it = st.table->live.begin(); it != st.table->live.end(); ++it)
      if (it->second.actor.address() == dm.source) {
        id = it->first;
        st.table->live.erase(it);
        break;
      }
  }
  if (id.empty())
    return;
  st.env->metrics->active(-1);
  // Envelopes that came while it passivated: a fresh activation serves them.
  if (auto w = st.waiting.find(id); w != st.waiting.end() && !w->second.direct.empty())
    start_activation(self, id);
}

template <class Msg, class Fn>
void query(self_ptr self, bus::in<Msg>& in, Fn fn) {
  auto shared = std::make_shared<bus::in<Msg>>(std::move(in));
  with_caller(self, shared->raw,
              [shared, fn](caf::expected<storage::connection*> conn,
                           const troupe::v1::Principal& who) {
                if (!conn)
                  return reply_error(shared->raw, conn.error());
                fn(**conn, who, *shared);
              });
}

template <class T>
void answer(const bus::inbound& in, const caf::expected<T>& r) {
  if (!r)
    return reply_error(in, r.error());
  if (in.reply->expected())
    (void) in.reply->send(bus::make_reply(in.env, *r));
}

/// The session `id` when `who` owns it; answers not_found (or the error) itself.
std::optional<troupe::v1::SessionInfo> owned(storage::connection& conn, const bus::inbound& in,
                                             const std::string& id,
                                             const troupe::v1::Principal& who) {
  auto found = storage::find_session(conn, id);
  if (!found) {
    reply_error(in, found.error());
    return std::nullopt;
  }
  if (!*found || !owns(**found, who)) {
    reply_error(in, not_found(id));
    return std::nullopt;
  }
  return std::move(**found);
}

host_impl::behavior_type session_host(self_ptr self, session_env_ptr env,
                                      bus::bridge_actor bridge) {
  auto& st = self->state;
  st.env = env;
  st.bridge = bridge;
  st.client.emplace(env->transport,
                    bus::request_options{env->max_envelope_bytes, env->keys, env->registry});
  auto prefix = *env->subjects.direct(env->node_id, "session", "x");
  prefix.pop_back(); // "troupe.<c>.node.<n>.session."
  st.direct_prefix = prefix;
  auto fail = [self](const caf::error& err) {
    log::get("session")->error("session host cannot serve: {}", bus::describe(err));
    self->quit(err);
  };
  using namespace troupe::v1;
  auto service = bus::dispatch::to<Ping, ActivateSession, ListSessions, GetSession, GetMessages,
                                   DeleteSession>(self);
  // Each direct envelope goes to its live session actor; the host gets only
  // those for sessions it must activate first. Picked and sent under the
  // table's lock, so a passivating session never misses one.
  auto host = caf::actor_cast<caf::actor>(self);
  auto direct = bus::dispatch::routed<TurnRequest, CancelTurn, SessionDeleted>(
    self, [table = st.table, host, plen = prefix.size()](std::string_view subject,
                                                          caf::message msg) {
      std::shared_lock lk{table->mutex};
      if (subject.size() > plen)
        if (auto it = table->live.find(std::string{subject.substr(plen)});
            it != table->live.end() && !it->second.passivating) {
          caf::anon_send(caf::actor_cast<caf::actor>(it->second.actor), std::move(msg));
          return;
        }
      caf::anon_send(host, std::move(msg));
    });
  // Principals are checked per request (Ping needs none): the bridge still
  // refuses a principal that is present and does not verify.
  self->request(bridge, std::chrono::seconds(5), serve_atom::value, *env->subjects.svc("session"),
                std::string{"session"}, service, false)
    .then([](bool) {}, fail);
  // The same service for gateways that picked this node (by load, or
  // because it is alive when another is not).
  self->request(bridge, std::chrono::seconds(5), serve_atom::value,
                *env->subjects.node_svc(env->node_id, "session"), std::string{}, service, false)
    .then([](bool) {}, fail);
  self->request(bridge, std::chrono::seconds(5), serve_atom::value, prefix + "*", std::string{},
                direct, false)
    .then([](bool) {}, fail);
  self->set_down_handler([self](const caf::down_msg& dm) { on_down(self, dm); });
  return {
    [self](bus::in<Ping>& in) { bus::answer_ping(in.raw, self->state.env->node_id); },
    [self](bus::in<ActivateSession>& in) { on_activate(self, in); },
    [self](bus::in<ListSessions>& in) {
      query(self, in, [](storage::connection& conn, const Principal& who, auto& q) {
        answer(q.raw, storage::list_sessions(conn, who.tenant(), who.user(), q.msg().limit(),
                                             q.msg().before_id()));
      });
    },
    [self](bus::in<GetSession>& in) {
      query(self, in, [](storage::connection& conn, const Principal& who, auto& q) {
        if (auto s = owned(conn, q.raw, q.msg().session_id(), who))
          answer(q.raw, caf::expected<SessionInfo>{std::move(*s)});
      });
    },
    [self](bus::in<GetMessages>& in) {
      query(self, in, [](storage::connection& conn, const Principal& who, auto& q) {
        const auto& id = q.msg().session_id();
        if (!owned(conn, q.raw, id, who))
          return;
        auto limit = q.msg().limit() == 0 ? 1000u : std::min(q.msg().limit(), 1000u);
        auto msgs = storage::load_messages(conn, id, limit);
        if (!msgs)
          return reply_error(q.raw, msgs.error());
        MessageList out;
        for (auto& m : *msgs)
          *out.add_messages() = std::move(m);
        answer(q.raw, caf::expected<MessageList>{std::move(out)});
      });
    },
    [self](bus::in<DeleteSession>& in) { on_delete(self, in); },
    [self](bus::in<TurnRequest>& in) {
      auto subject = in.raw.subject;
      on_direct(self, subject, caf::make_message(std::move(in)));
    },
    [self](bus::in<CancelTurn>& in) {
      auto subject = in.raw.subject;
      on_direct(self, subject, caf::make_message(std::move(in)));
    },
    [self](bus::in<SessionDeleted>& in) {
      // Not live here: nothing to stop; what waited for it hears it is gone.
      auto& st = self->state;
      auto id = in.msg().session_id();
      if (auto w = st.waiting.find(id); w != st.waiting.end() && !w->second.running) {
        activation a{id, id, std::nullopt, {}, std::nullopt, not_found(id)};
        activation_failed(self, a);
      }
      if (in.reply().expected())
        (void) in.reply().send(bus::make_reply(in.env(), in.msg()));
    },
    [self](passivate_atom, const std::string& id) { on_passivate(self, id); },
    [self](resume_atom, const std::string& id) { on_resume(self, id); },
    [self](found_atom, activation& a) { on_found(self, a); },
    [self](claimed_atom, activation& a) { on_claimed(self, a); },
    [self](loaded_atom, activation& a) { on_loaded(self, a); },
    [self](deleted_atom, deletion& d) { on_deleted(self, d); },
    [self](unclaimed_atom, deletion& d) { on_unclaimed(self, d); },
    [self](reply_atom, uint64_t token, bus::message& m) {
      self->state.client->handle_reply(token, m);
    },
    [self](timeout_atom, uint64_t timer) { self->state.client->handle_timeout(timer); },
  };
}

} // namespace

supervision::child_spec session_host_child(session_env_ptr env, bus::bridge_actor bridge) {
  return {"session_host", [env = std::move(env), bridge](caf::local_actor& parent) {
            return caf::actor_cast<caf::actor>(parent.spawn(session_host, env, bridge));
          }};
}

} // namespace troupe::session
