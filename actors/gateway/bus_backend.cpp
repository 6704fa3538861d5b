#include "actors/gateway/bus_backend.hpp"

#include <caf/all.hpp>
#include <map>
#include <optional>
#include <unordered_map>

#include "bus/envelope_codec.hpp"
#include "bus/inbound.hpp"
#include "bus/request_client.hpp"
#include "common/logging.hpp"
#include "messages/message_types.hpp"

namespace troupe::gateway::detail {

using chunk_fn = std::function<void(const troupe::v1::TurnChunk&)>;
using reply_fn = std::function<void(caf::expected<bus::reply>)>;

struct chat_job {
  turn_input in;
  std::string turn_id;
  chunk_fn on_chunk;
  callback<troupe::v1::TurnResult> done;
};

/// A request to a service (svc.<kind>) on the caller's behalf.
struct query_job {
  troupe::v1::Principal who;
  std::string kind;
  troupe::v1::Envelope env;
  reply_fn done;
};

} // namespace troupe::gateway::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::gateway::detail::chat_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::gateway::detail::query_job)

namespace troupe::gateway {

using namespace detail;

namespace {

using namespace std::chrono_literals;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using chat_atom = caf::atom_constant<caf::atom("chat")>;

constexpr auto chunk_grace = 2s;
constexpr size_t max_cached_owners = 100'000;

api_error api_error_of(const caf::error& err) {
  auto e = bus::error_payload(err);
  return {status_of(e.code()), e.code(), e.message()};
}

struct turn_ctx {
  chat_job job;
  std::string session_id;
  std::string owner;
  bool resent = false;
  uint32_t next_seq = 0;
  std::map<uint32_t, troupe::v1::TurnChunk> early; // arrived before their predecessors
  std::optional<troupe::v1::TurnResult> result;
  uint64_t settle_token = 0;
};

struct gw_state {
  bus_backend_config cfg;
  bus::subjects subjects{"troupe"};
  std::optional<bus::request_client> client;
  std::string stream_subject;
  std::unordered_map<std::string, std::string> owners; // session id -> node
  std::unordered_map<std::string, turn_ctx> turns;      // turn id -> turn
  uint64_t tokens = 0;
  static inline const char* name = "gateway";
};

using self_ptr = caf::stateful_actor<gw_state>*;

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

void finish(self_ptr self, const std::string& turn_id, result<troupe::v1::TurnResult> r) {
  auto& st = self->state;
  auto it = st.turns.find(turn_id);
  if (it == st.turns.end())
    return;
  auto done = std::move(it->second.job.done);
  st.turns.erase(it);
  done(std::move(r));
}

void settle(self_ptr self, turn_ctx& t, bool force) {
  if (!t.result || (!force && t.next_seq < t.result->chunks()))
    return;
  if (t.next_seq < t.result->chunks())
    log::get("gateway")->warn("turn {}: {} of {} chunks arrived", t.job.turn_id, t.next_seq,
                              t.result->chunks());
  finish(self, t.job.turn_id, std::move(*t.result));
}

void on_chunk(self_ptr self, troupe::v1::TurnChunk chunk) {
  auto& st = self->state;
  auto it = st.turns.find(chunk.turn_id());
  if (it == st.turns.end())
    return; // the turn is over (or cancelled)
  auto& t = it->second;
  if (chunk.seq() < t.next_seq)
    return; // a duplicate
  t.early.emplace(chunk.seq(), std::move(chunk));
  while (!t.early.empty() && t.early.begin()->first == t.next_seq) {
    if (t.job.on_chunk)
      t.job.on_chunk(t.early.begin()->second);
    t.early.erase(t.early.begin());
    ++t.next_seq;
  }
  settle(self, t, false);
}

void send_turn(self_ptr self, const std::string& turn_id);

/// Asks svc.session where the turn's session lives, then sends the turn there.
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
  st.client->request(self, *st.subjects.svc("session"), std::move(*env), st.cfg.request_timeout,
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
                     });
}

void send_turn(self_ptr self, const std::string& turn_id) {
  auto& st = self->state;
  auto& t = st.turns.at(turn_id);
  troupe::v1::TurnRequest req;
  req.set_session_id(t.session_id);
  req.set_turn_id(turn_id);
  req.set_message(t.job.in.message);
  req.set_model(t.job.in.model);
  if (t.job.in.stream)
    req.set_stream_subject(st.stream_subject);
  for (const auto& m : t.job.in.extra_messages)
    *req.add_extra_messages() = m;
  auto env = addressed(self, req, t.job.in.principal);
  if (!env)
    return finish(self, turn_id, api_error_of(env.error()));
  env->set_deadline_unix_ms(bus::now_unix_ms() + st.cfg.turn_timeout.count());
  auto subject = st.subjects.direct(t.owner, "session", t.session_id);
  if (!subject)
    return finish(self, turn_id, api_error_of(subject.error()));
  st.client->request(
    self, *subject, std::move(*env), st.cfg.turn_timeout,
    [self, turn_id](caf::expected<bus::reply> reply) {
      auto& st = self->state;
      auto it = st.turns.find(turn_id);
      if (it == st.turns.end())
        return;
      auto& t = it->second;
      auto res = bus::reply_as<troupe::v1::TurnResult>(reply);
      if (!res) {
        auto e = bus::error_payload(res.error());
        // Nobody got the turn: the owner is gone or gave the session up.
        bool not_delivered = e.code() == "no_responders" || e.code() == "session_moved";
        if (not_delivered && !t.resent) {
          t.resent = true;
          st.owners.erase(t.session_id);
          return locate(self, turn_id, t.owner);
        }
        return finish(self, turn_id, api_error{status_of(e.code()), e.code(), e.message()});
      }
      t.result = **res;
      t.settle_token = ++st.tokens;
      // Streamed chunks still on their way get a grace period.
      if (t.next_seq < t.result->chunks())
        self->delayed_send(self, chunk_grace, settle_atom::value, turn_id, t.settle_token);
      settle(self, t, false);
    });
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
  if (!t.owner.empty()) {
    troupe::v1::CancelTurn req;
    req.set_session_id(t.session_id);
    req.set_turn_id(turn_id);
    if (auto env = addressed(self, req, t.job.in.principal))
      if (auto subject = st.subjects.direct(t.owner, "session", t.session_id))
        st.client->request(self, *subject, std::move(*env), st.cfg.request_timeout,
                           [](caf::expected<bus::reply>) {});
  }
  finish(self, turn_id, api_error{499, "cancelled", "the client went away"});
}

void query(self_ptr self, query_job& job) {
  auto& st = self->state;
  auto env = addressed(self, job.env, job.who);
  if (!env)
    return job.done(env.error());
  env->set_payload_type(job.env.payload_type());
  env->set_payload(job.env.payload());
  auto subject = st.subjects.svc(job.kind);
  if (!subject)
    return job.done(subject.error());
  st.client->request(self, *subject, std::move(*env), st.cfg.request_timeout, std::move(job.done));
}

caf::behavior gateway_actor(self_ptr self, bus_backend_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.subjects = bus::subjects{st.cfg.cluster};
  st.client.emplace(st.cfg.transport, bus::request_options{st.cfg.max_envelope_bytes, st.cfg.keys});
  st.stream_subject = *st.subjects.direct(st.cfg.node_id, "gateway", "stream");
  self->request(st.cfg.bridge, 5s, serve_atom::value, st.stream_subject, std::string{},
                caf::actor_cast<caf::actor>(self), false)
    .then([](bool) {},
          [self](const caf::error& err) {
            log::get("gateway")->error("cannot serve the stream subject: {}",
                                       self->system().render(err));
            self->quit(err);
          });
  return {
    [self](chat_atom, chat_job& job) { start_chat(self, job); },
    [self](query_atom, query_job& job) { query(self, job); },
    [self](cancel_atom, const std::string& turn_id) { cancel(self, turn_id); },
    [self](inbound_atom, bus::inbound& in) {
      if (auto chunk = bus::payload_of<troupe::v1::TurnChunk>(in))
        on_chunk(self, **chunk);
    },
    [self](settle_atom, const std::string& turn_id, uint64_t token) {
      auto& st = self->state;
      if (auto it = st.turns.find(turn_id);
          it != st.turns.end() && it->second.settle_token == token)
        settle(self, it->second, true);
    },
    [self](reply_atom, uint64_t token, bus::message& m) {
      self->state.client->handle_reply(token, m);
    },
    [self](timeout_atom, uint64_t timer) { self->state.client->handle_timeout(timer); },
  };
}

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
  explicit bus_backend(caf::actor gw) : gw_(std::move(gw)) {}
  ~bus_backend() override { caf::anon_send_exit(gw_, caf::exit_reason::user_shutdown); }

  cancel_fn chat(turn_input in, std::function<void(const troupe::v1::TurnChunk&)> on_chunk,
                 callback<troupe::v1::TurnResult> done) override {
    auto turn_id = bus::new_message_id();
    caf::anon_send(gw_, chat_atom::value,
                   chat_job{std::move(in), turn_id, std::move(on_chunk), std::move(done)});
    return [gw = gw_, turn_id] { caf::anon_send(gw, cancel_atom::value, turn_id); };
  }

  void list_sessions(const troupe::v1::Principal& who, troupe::v1::ListSessions q,
                     callback<troupe::v1::SessionList> done) override {
    ask(who, "session", q, parse_into(std::move(done)));
  }
  void get_session(const troupe::v1::Principal& who, std::string session_id,
                   callback<troupe::v1::SessionInfo> done) override {
    troupe::v1::GetSession q;
    q.set_session_id(std::move(session_id));
    ask(who, "session", q, parse_into(std::move(done)));
  }
  void get_messages(const troupe::v1::Principal& who, troupe::v1::GetMessages q,
                    callback<troupe::v1::MessageList> done) override {
    ask(who, "session", q, parse_into(std::move(done)));
  }
  void delete_session(const troupe::v1::Principal& who, std::string session_id,
                      callback<troupe::v1::SessionDeleted> done) override {
    troupe::v1::DeleteSession q;
    q.set_session_id(std::move(session_id));
    ask(who, "session", q, parse_into(std::move(done)));
  }
  void list_models(const troupe::v1::Principal& who,
                   callback<troupe::v1::ModelList> done) override {
    ask(who, "inference", troupe::v1::ListModels{}, parse_into(std::move(done)));
  }

private:
  void ask(const troupe::v1::Principal& who, std::string kind,
           const google::protobuf::Message& payload, reply_fn done) {
    caf::anon_send(gw_, query_atom::value,
                   query_job{who, std::move(kind), bus::make_envelope(payload), std::move(done)});
  }

  caf::actor gw_;
};

} // namespace

unsigned status_of(std::string_view code) noexcept {
  static const std::unordered_map<std::string_view, unsigned> table{
    {"session_not_found", 404}, {"model_unknown", 404},       {"invalid_request", 400},
    {"role_not_configured", 400}, {"provider_key_missing", 503}, {"backend_unavailable", 503},
    {"no_responders", 503},     {"not_connected", 503},       {"provider_error", 502},
    {"malformed_response", 502}, {"redirect_refused", 502},   {"timeout", 504},
    {"deadline_expired", 504},  {"cancelled", 499},           {"session_moved", 503},
    {"oversize", 413},          {"principal_missing", 401},   {"principal_invalid", 401},
  };
  auto it = table.find(code);
  return it == table.end() ? 500 : it->second;
}

chat_backend_ptr make_bus_backend(caf::actor_system& sys, bus_backend_config cfg) {
  return std::make_shared<bus_backend>(sys.spawn(gateway_actor, std::move(cfg)));
}

} // namespace troupe::gateway
