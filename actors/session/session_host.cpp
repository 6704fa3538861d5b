#include "actors/session/session_host.hpp"

#include <caf/all.hpp>
#include <unordered_map>

#include "actors/session/directory_claim.hpp"
#include "actors/session/session_actor.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/inbound.hpp"
#include "bus/ping.hpp"
#include "common/logging.hpp"
#include "storage/session_store.hpp"

namespace troupe::session::detail {
/// What a worker found out about a session this node was asked to host.
struct activation {
  std::string session_id;
  troupe::v1::Error err;              // why the session cannot be hosted here
  std::optional<session_start> start; // set when this node owns it now
};
} // namespace troupe::session::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::session::detail::activation)

namespace troupe::session {

namespace {

using detail::activation;
using activated_atom = caf::atom_constant<caf::atom("activated")>;

void reply_error(const bus::inbound& in, troupe::v1::Error err) {
  if (in.reply->expected())
    (void) in.reply->send(bus::error_reply(in.env, std::move(err)));
}

void reply_error(const bus::inbound& in, const caf::error& err) {
  reply_error(in, error_from(err));
}



struct host_state {
  session_env_ptr env;
  bus::bridge_actor bridge;
  std::unordered_map<std::string, caf::actor> live;                  // session id -> actor
  std::unordered_map<std::string, std::vector<bus::inbound>> waiting; // activations in flight
  static inline const char* name = "session_host";

  // Sessions live as long as their host: a stopping node must not wait for
  // each one's idle timeout.
  ~host_state() {
    for (auto& [id, session] : live)
      caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
  }
};

using self_ptr = caf::stateful_actor<host_state>*;

/// Runs on a store worker: the session row, the directory claim and, when
/// this node owns it, its history.
activation load_for_hosting(storage::connection& conn, const session_env& env,
                            const std::string& id) {
  activation out;
  out.session_id = id;
  auto found = storage::find_session(conn, id);
  if (!found) {
    out.err = error_from(found.error());
    return out;
  }
  if (!*found) {
    out.err = session_error("session_not_found", "no session " + id);
    return out;
  }
  auto owner = claim_session(*env.directory, id, env.node_id, {});
  if (!owner) {
    out.err = error_from(owner.error());
    return out;
  }
  if (*owner != env.node_id) {
    // The gateway asks svc.session again and learns the new owner.
    out.err = session_error("session_moved", "session " + id + " is hosted by " + *owner);
    return out;
  }
  auto history = storage::load_messages(conn, id, env.settings.max_history_messages);
  if (!history) {
    out.err = error_from(history.error());
    return out;
  }
  out.start = session_start{**found, std::move(*history)};
  return out;
}

void deliver(self_ptr self, const caf::actor& session, std::vector<bus::inbound>& msgs) {
  for (auto& in : msgs)
    self->send(session, inbound_atom::value, std::move(in));
  msgs.clear();
}

void on_activated(self_ptr self, activation& a) {
  auto& st = self->state;
  auto pending = std::move(st.waiting[a.session_id]);
  st.waiting.erase(a.session_id);
  if (!a.start) {
    const auto& code = a.err.code();
    st.env->metrics->activation(code == "session_moved"       ? activation_outcome::moved
                                : code == "session_not_found" ? activation_outcome::not_found
                                                              : activation_outcome::error);
    for (auto& in : pending)
      if (in.env.payload_type() != "troupe.v1.GenerateChunk")
        reply_error(in, a.err);
    return;
  }
  auto session = spawn_session(self->system(), st.env, std::move(*a.start));
  self->monitor(session);
  st.live[a.session_id] = session;
  st.env->metrics->activation(activation_outcome::hosted);
  st.env->metrics->active(1);
  log::get("session")->debug("session {} activated on {}", a.session_id, st.env->node_id);
  deliver(self, session, pending);
}

/// An envelope for one of this node's sessions: to its actor, activating it first.
void on_direct(self_ptr self, bus::inbound& in, const std::string& id) {
  auto& st = self->state;
  if (auto it = st.live.find(id); it != st.live.end()) {
    self->send(it->second, inbound_atom::value, std::move(in));
    return;
  }
  auto [it, first] = st.waiting.try_emplace(id);
  it->second.push_back(std::move(in));
  if (!first)
    return;
  auto me = caf::actor_cast<caf::actor>(self);
  st.env->store->run(id, [me, env = st.env, id](caf::expected<storage::connection*> conn) {
    activation a;
    if (!conn) {
      a.session_id = id;
      a.err = error_from(conn.error());
    } else {
      a = load_for_hosting(**conn, *env, id);
    }
    caf::anon_send(me, activated_atom::value, std::move(a));
  });
}

/// Runs on a store worker: answers one svc.session request itself.
void serve_query(storage::connection& conn, const session_env& env, bus::inbound& in,
                 const troupe::v1::Principal& who) {
  const auto& type = in.env.payload_type();
  auto answer = [&](const google::protobuf::Message& payload) {
    (void) in.reply->send(bus::make_reply(in.env, payload));
  };
  auto not_found = [&](const std::string& id) {
    reply_error(in, session_error("session_not_found", "no session " + id));
  };
  if (type == "troupe.v1.ActivateSession") {
    auto activate = bus::payload_of<troupe::v1::ActivateSession>(in);
    if (!activate)
      return reply_error(in, activate.error());
    const auto& req = **activate;
    auto id = req.session_id();
    if (id.empty()) {
      auto created = storage::find_or_create_session(conn, bus::new_message_id(), who.tenant(),
                                                     who.user(), req.external_key());
      if (!created)
        return reply_error(in, created.error());
      id = created->id();
    } else {
      auto found = storage::find_session(conn, id);
      if (!found)
        return reply_error(in, found.error());
      if (!*found || (*found)->tenant() != who.tenant() || (*found)->user() != who.user())
        return not_found(id);
    }
    auto owner = claim_session(*env.directory, id, env.node_id, req.failed_owner());
    if (!owner)
      return reply_error(in, owner.error());
    troupe::v1::SessionLocation loc;
    loc.set_session_id(id);
    loc.set_node(*owner);
    return answer(loc);
  }
  if (type == "troupe.v1.ListSessions") {
    auto req = bus::payload_of<troupe::v1::ListSessions>(in);
    if (!req)
      return reply_error(in, req.error());
    auto list = storage::list_sessions(conn, who.tenant(), who.user(), (*req)->limit(),
                                       (*req)->before_id());
    return list ? answer(*list) : reply_error(in, list.error());
  }
  if (type == "troupe.v1.GetSession" || type == "troupe.v1.GetMessages"
      || type == "troupe.v1.DeleteSession") {
    std::string id;
    uint32_t limit = 0;
    if (auto g = bus::payload_of<troupe::v1::GetSession>(in))
      id = (*g)->session_id();
    else if (auto m = bus::payload_of<troupe::v1::GetMessages>(in))
      id = (*m)->session_id(), limit = (*m)->limit();
    else if (auto d = bus::payload_of<troupe::v1::DeleteSession>(in))
      id = (*d)->session_id();
    else
      return reply_error(in, session_error("malformed", "the request does not parse"));
    auto found = storage::find_session(conn, id);
    if (!found)
      return reply_error(in, found.error());
    if (!*found || (*found)->tenant() != who.tenant() || (*found)->user() != who.user())
      return not_found(id);
    if (type == "troupe.v1.GetSession")
      return answer(**found);
    if (type == "troupe.v1.GetMessages") {
      auto msgs = storage::load_messages(conn, id, limit == 0 ? 1000 : std::min(limit, 1000u));
      if (!msgs)
        return reply_error(in, msgs.error());
      troupe::v1::MessageList out;
      for (auto& m : *msgs)
        *out.add_messages() = std::move(m);
      return answer(out);
    }
    auto deleted = storage::delete_session(conn, who.tenant(), who.user(), id);
    if (!deleted)
      return reply_error(in, deleted.error());
    if (!*deleted)
      return not_found(id);
    (void) env.directory->remove(id); // the next activation starts from nothing
    troupe::v1::SessionDeleted out;
    out.set_session_id(id);
    return answer(out);
  }
  reply_error(in, session_error("unknown_type", "svc.session does not handle " + type));
}

void on_service(self_ptr self, bus::inbound& in) {
  auto& st = self->state;
  if (bus::answer_ping(in, st.env->node_id))
    return;
  auto who = principal_of(in.env);
  if (!who)
    return reply_error(in, session_error("principal_missing", "session requests need a principal"));
  // One worker per caller keeps one user's requests in order.
  auto key = who->tenant() + "/" + who->user();
  st.env->store->run(key, [env = st.env, in = std::move(in),
                           who = std::move(*who)](caf::expected<storage::connection*> conn) mutable {
    if (!conn)
      return reply_error(in, conn.error());
    serve_query(**conn, *env, in, who);
  });
}

caf::behavior session_host(self_ptr self, session_env_ptr env, bus::bridge_actor bridge) {
  auto& st = self->state;
  st.env = env;
  st.bridge = bridge;
  auto prefix = *env->subjects.direct(env->node_id, "session", "x");
  prefix.pop_back(); // "troupe.<c>.node.<n>.session."
  auto fail = [self](const caf::error& err) {
    log::get("session")->error("session host cannot serve: {}", self->system().render(err));
    self->quit(err);
  };
  auto me = caf::actor_cast<caf::actor>(self);
  // Principals are checked per request (Ping needs none): the bridge still
  // refuses a principal that is present and does not verify.
  self->request(bridge, std::chrono::seconds(5), serve_atom::value, *env->subjects.svc("session"),
                std::string{"session"}, me, false)
    .then([](bool) {}, fail);
  self->request(bridge, std::chrono::seconds(5), serve_atom::value, prefix + "*", std::string{},
                me, false)
    .then([](bool) {}, fail);
  self->set_down_handler([self](const caf::down_msg& dm) {
    auto& live = self->state.live;
    for (auto it = live.begin(); it != live.end(); ++it)
      if (it->second.address() == dm.source) {
        live.erase(it);
        self->state.env->metrics->active(-1);
        break;
      }
  });
  return {
    [self, prefix](inbound_atom, bus::inbound& in) {
      if (in.subject.starts_with(prefix))
        on_direct(self, in, in.subject.substr(prefix.size()));
      else
        on_service(self, in);
    },
    [self](activated_atom, activation& a) { on_activated(self, a); },
  };
}

} // namespace

supervision::child_spec session_host_child(session_env_ptr env, bus::bridge_actor bridge) {
  return {"session_host", [env = std::move(env), bridge](caf::local_actor& parent) {
            return caf::actor_cast<caf::actor>(parent.spawn(session_host, env, bridge));
          }};
}

} // namespace troupe::session
