#include "actors/session/session_actor.hpp"

#include <caf/all.hpp>
#include <deque>
#include <optional>

#include "actors/session/context_window.hpp"
#include "actors/session/turn_events.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/inbound.hpp"
#include "bus/publisher.hpp"
#include "bus/request_client.hpp"
#include "common/logging.hpp"
#include "storage/session_store.hpp"

namespace troupe::session {

namespace {

using namespace std::chrono_literals;
using Type = troupe::v1::TurnEvent;

using committed_atom = caf::atom_constant<caf::atom("committed")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;

/// How long a finished step waits for chunks still on their way (they travel
/// on another connection than the reply) before it goes on without them.
constexpr auto chunk_grace = 2s;

/// The turn being run.
struct turn_state {
  bus::inbound request;
  troupe::v1::TurnRequest turn;
  troupe::v1::ChatMessage user; // as the model gets it and as it is stored
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::optional<turn_events> events;
  uint32_t chunks_out = 0;       // TurnChunks published to the gateway
  uint32_t generate_chunks = 0;  // GenerateChunks received from inference
  std::optional<troupe::v1::GenerateResult> result; // waiting for its chunks
  uint64_t settle_token = 0;
  bool cancelled = false;
};

struct state {
  session_env_ptr env;
  troupe::v1::SessionInfo info;
  std::optional<context_window> window;
  std::deque<bus::inbound> queue;
  std::optional<turn_state> current;
  std::optional<bus::request_client> client;
  std::optional<bus::publisher> out;
  std::string self_subject;
  /// Passivation: the last message's time, and whether an idle check is
  /// scheduled. One check at a time, re-armed for what remains, rather than a
  /// timer per message (each is an entry in the actor clock until it fires).
  std::chrono::steady_clock::time_point last_active = std::chrono::steady_clock::now();
  bool idle_check_armed = false;
  uint64_t tokens = 0;
  static inline const char* name = "session";
};

using self_ptr = caf::stateful_actor<state>*;

void run_next(self_ptr self);

void arm_idle(self_ptr self) {
  auto& st = self->state;
  st.last_active = std::chrono::steady_clock::now();
  if (st.idle_check_armed)
    return;
  st.idle_check_armed = true;
  self->delayed_send(self, st.env->settings.idle_timeout, idle_atom::value);
}

/// Passivates the session when it has been idle for idle_timeout, else
/// checks again when it could be.
void check_idle(self_ptr self) {
  auto& st = self->state;
  st.idle_check_armed = false;
  auto idle_for = std::chrono::steady_clock::now() - st.last_active;
  bool busy = st.current || !st.queue.empty();
  if (!busy && idle_for >= st.env->settings.idle_timeout) {
    log::get("session")->debug("session {} passivated after {} s idle", st.info.id(),
                               st.env->settings.idle_timeout.count());
    self->quit();
    return;
  }
  st.idle_check_armed = true;
  auto remaining =
      busy ? st.env->settings.idle_timeout
           : std::chrono::duration_cast<caf::timespan>(st.env->settings.idle_timeout - idle_for);
  self->delayed_send(self, remaining, idle_atom::value);
}

void answer_error(self_ptr self, const bus::inbound& in, troupe::v1::Error err) {
  if (in.reply->expected())
    if (auto e = in.reply->send(bus::error_reply(in.env, std::move(err))))
      log::get("session")->debug("session {}: error reply not sent: {}", self->state.info.id(),
                                 caf::to_string(e));
}

void publish_chunk(self_ptr self, troupe::v1::TurnChunk chunk) {
  auto& st = self->state;
  auto& t = *st.current;
  if (t.turn.stream_subject().empty())
    return;
  chunk.set_turn_id(t.turn.turn_id());
  chunk.set_session_id(st.info.id());
  chunk.set_seq(t.chunks_out++);
  auto env = bus::make_envelope(chunk);
  env.set_tenant(st.info.tenant());
  if (auto err = st.out->publish(t.turn.stream_subject(), env))
    log::get("session")->warn("session {}: chunk not published: {}", st.info.id(),
                              caf::to_string(err));
}

void fail_turn(self_ptr self, troupe::v1::Error err) {
  auto& st = self->state;
  auto& t = *st.current;
  log::get("session")->info("session {}: turn {} failed: {}/{}: {}", st.info.id(),
                            t.turn.turn_id(), err.component(), err.code(), err.message());
  t.events->emit(Type::TURN_FAILED, &err, err.code());
  st.env->metrics->turn(err.code() == "cancelled" ? turn_outcome::cancelled : turn_outcome::failed,
                        std::chrono::steady_clock::now() - t.started);
  answer_error(self, t.request, std::move(err));
  st.current.reset();
  run_next(self);
}

troupe::v1::ChatMessage user_message(const troupe::v1::TurnRequest& turn) {
  troupe::v1::ChatMessage m;
  m.set_id(bus::new_message_id());
  m.set_role("user");
  m.set_content(turn.message());
  m.set_turn_id(turn.turn_id());
  m.set_created_unix_ms(bus::now_unix_ms());
  return m;
}

/// Persist, then answer: the client hears of the turn only once it is committed.
void persist(self_ptr self) {
  auto& st = self->state;
  auto& t = *st.current;
  auto& result = *t.result;
  for (const auto& call : result.message().tool_calls()) {
    troupe::v1::TurnChunk c;
    *c.mutable_tool_call() = call;
    publish_chunk(self, std::move(c));
  }
  std::vector<troupe::v1::ChatMessage> msgs{t.user, result.message()};
  auto& reply = msgs.back();
  reply.set_id(bus::new_message_id());
  reply.set_role("assistant");
  reply.set_turn_id(t.turn.turn_id());
  reply.set_created_unix_ms(bus::now_unix_ms());
  auto me = caf::actor_cast<caf::actor>(self);
  st.env->committer->commit({st.info.id(), t.turn.turn_id(), msgs, result.model()},
                            [me, turn = t.turn.turn_id(),
                             msgs](caf::expected<storage::commit_result> r) mutable {
                              caf::error err = r ? caf::error{} : r.error();
                              caf::anon_send(me, committed_atom::value, turn, err, std::move(msgs));
                            });
}

void on_committed(self_ptr self, const std::string& turn_id, const caf::error& err,
                  std::vector<troupe::v1::ChatMessage>& msgs) {
  auto& st = self->state;
  if (!st.current || st.current->turn.turn_id() != turn_id)
    return;
  if (err) {
    fail_turn(self, session_error("persist_failed", self->system().render(err)));
    return;
  }
  auto& t = *st.current;
  t.events->emit(Type::TURN_PERSISTED);
  for (const auto& m : msgs)
    st.window->append(m);
  troupe::v1::TurnResult out;
  out.set_session_id(st.info.id());
  out.set_turn_id(turn_id);
  *out.mutable_reply() = msgs.back();
  out.set_model(t.result->model());
  *out.mutable_usage() = t.result->usage();
  out.set_finish_reason(t.result->finish_reason());
  for (auto& m : msgs)
    *out.add_messages() = std::move(m);
  out.set_chunks(t.chunks_out);
  // Counted before the answer, as a failed turn is: a client that reads the
  // metrics once answered finds its turn there.
  st.env->metrics->turn(turn_outcome::completed, std::chrono::steady_clock::now() - t.started);
  if (t.request.reply->expected())
    if (auto e = t.request.reply->send(bus::make_reply(t.request.env, out)))
      log::get("session")->warn("session {}: turn {} committed but the reply was not sent: {}",
                                st.info.id(), turn_id, caf::to_string(e));
  t.events->emit(Type::TURN_COMPLETED, &out);
  st.current.reset();
  run_next(self);
}

/// Asks whichever inference instance runs the current turn to stop; the
/// turn ends now either way (its late answer finds no current turn).
void stop_generation(self_ptr self) {
  auto& st = self->state;
  auto& t = *st.current;
  troupe::v1::CancelTurn req;
  req.set_turn_id(t.turn.turn_id());
  auto env = bus::make_envelope(req);
  env.set_tenant(st.info.tenant());
  *env.mutable_principal() = t.request.env.principal();
  auto subject = st.env->subjects.broadcast("inference", "cancel");
  if (auto err = subject ? st.out->publish(*subject, env) : subject.error())
    log::get("session")->warn("session {}: turn {}: the cancel did not reach inference: {}",
                              st.info.id(), t.turn.turn_id(), caf::to_string(err));
}

/// Inference answered; go on once its chunks are all relayed (or the grace ran out).
void settle(self_ptr self, bool force) {
  auto& t = *self->state.current;
  if (!t.result || (!force && t.generate_chunks < t.result->chunks()))
    return;
  t.events->emit(Type::MODEL_RESPONSE, &*t.result);
  if (t.cancelled) {
    fail_turn(self, session_error("cancelled", "the turn was cancelled"));
    return;
  }
  persist(self);
}

void generate(self_ptr self) {
  auto& st = self->state;
  auto& t = *st.current;
  troupe::v1::ModelInvoked invoked;
  auto& req = *invoked.mutable_request();
  req.set_model(t.turn.model());
  req.set_turn_id(t.turn.turn_id());
  req.set_temperature(-1);
  if (!t.turn.stream_subject().empty())
    req.set_stream_subject(st.self_subject);
  std::vector<troupe::v1::ChatMessage> system{t.turn.extra_messages().begin(),
                                              t.turn.extra_messages().end()};
  std::vector<troupe::v1::ChatMessage> user{t.user};
  auto env = bus::make_envelope(req.GetDescriptor()->full_name(),
                                st.window->encode(req, system, user));
  for (auto& m : system)
    *req.add_messages() = std::move(m);
  *req.add_messages() = std::move(user.front());
  invoked.set_history_messages(static_cast<uint32_t>(st.window->size()));
  env.set_tenant(st.info.tenant());
  *env.mutable_principal() = t.request.env.principal();
  env.set_traceparent(t.request.env.traceparent());
  auto timeout = st.env->inference_timeout;
  if (auto d = t.request.env.deadline_unix_ms(); d > 0) {
    env.set_deadline_unix_ms(d);
    timeout = std::chrono::milliseconds{std::max<int64_t>(d - bus::now_unix_ms(), 1)};
  }
  t.events->emit(Type::MODEL_INVOKED, &invoked);
  auto subject = st.env->subjects.svc("inference");
  auto turn_id = t.turn.turn_id();
  st.client->request(self, *subject, std::move(env), timeout,
                     [self, turn_id](caf::expected<bus::reply> reply) {
                       auto& st = self->state;
                       if (!st.current || st.current->turn.turn_id() != turn_id)
                         return;
                       auto result = bus::reply_as<troupe::v1::GenerateResult>(reply);
                       if (!result) {
                         fail_turn(self, bus::error_payload(result.error()));
                         return;
                       }
                       auto& t = *st.current;
                       t.result = **result;
                       t.settle_token = ++st.tokens;
                       // Streamed chunks still on their way get a grace period.
                       if (t.generate_chunks < t.result->chunks())
                         self->delayed_send(self, chunk_grace, settle_atom::value, t.settle_token);
                       settle(self, false);
                     });
}

void start_turn(self_ptr self, bus::inbound in) {
  auto& st = self->state;
  auto turn = bus::payload_of<troupe::v1::TurnRequest>(in);
  if (!turn) {
    answer_error(self, in, bus::error_payload(turn.error()));
    return;
  }
  if ((*turn)->message().empty()) {
    answer_error(self, in, session_error("invalid_request", "the turn has no message"));
    return;
  }
  st.current.emplace();
  auto& t = *st.current;
  t.request = std::move(in);
  t.turn = **turn;
  if (t.turn.turn_id().empty() || !bus::valid_token(t.turn.turn_id()))
    t.turn.set_turn_id(bus::new_message_id());
  t.user = user_message(t.turn);
  t.events.emplace(st.env->subjects, *st.out, st.env->node_id, st.info.tenant(), st.info.id(),
                   t.turn.turn_id(), t.request.env.traceparent());
  t.events->emit(Type::TURN_STARTED, &t.turn);
  if (auto d = t.request.env.deadline_unix_ms(); d > 0 && d <= bus::now_unix_ms()) {
    fail_turn(self, session_error("deadline_expired", "the turn's deadline passed while queued"));
    return;
  }
  // Seams: guardrail input check and memory prefetch go here (later issues).
  generate(self);
}

void run_next(self_ptr self) {
  auto& st = self->state;
  while (!st.current && !st.queue.empty()) {
    auto in = std::move(st.queue.front());
    st.queue.pop_front();
    start_turn(self, std::move(in));
  }
  if (!st.current && st.queue.empty())
    arm_idle(self);
}

/// The principal must be the session's owner: a session answers no one else.
bool owned_by_caller(self_ptr self, const bus::inbound& in) {
  auto p = principal_of(in.env);
  const auto& info = self->state.info;
  if (!p) {
    answer_error(self, in, session_error("principal_missing", "a turn needs a signed principal"));
    return false;
  }
  if (p->tenant() != info.tenant() || p->user() != info.user()) {
    // Same answer as for a session that does not exist: ids are not probes.
    answer_error(self, in, session_error("session_not_found", "no session " + info.id()));
    return false;
  }
  return true;
}

void on_inbound(self_ptr self, bus::inbound& in) {
  auto& st = self->state;
  st.last_active = std::chrono::steady_clock::now();
  const auto& type = in.env.payload_type();
  if (type == "troupe.v1.GenerateChunk") {
    auto chunk = bus::payload_of<troupe::v1::GenerateChunk>(in);
    if (!chunk || !st.current || (*chunk)->turn_id() != st.current->turn.turn_id())
      return; // late or stray: the turn it belongs to is over
    ++st.current->generate_chunks;
    troupe::v1::TurnChunk out;
    out.set_delta((*chunk)->delta());
    publish_chunk(self, std::move(out));
    settle(self, false);
    return;
  }
  if (!owned_by_caller(self, in))
    return;
  if (type == "troupe.v1.TurnRequest") {
    st.queue.push_back(std::move(in));
    run_next(self);
  } else if (type == "troupe.v1.CancelTurn") {
    auto cancel = bus::payload_of<troupe::v1::CancelTurn>(in);
    troupe::v1::TurnCancelled ack;
    if (cancel) {
      ack.set_turn_id((*cancel)->turn_id());
      if (st.current && st.current->turn.turn_id() == (*cancel)->turn_id()) {
        ack.set_was_running(true);
        if (st.current->result) {
          st.current->cancelled = true; // settles, then fails before the commit
        } else {
          stop_generation(self);
          fail_turn(self, session_error("cancelled", "the turn was cancelled"));
        }
      }
      // A queued turn that was cancelled never starts.
      for (auto it = st.queue.begin(); it != st.queue.end(); ++it) {
        auto queued = bus::payload_of<troupe::v1::TurnRequest>(*it);
        if (queued && (*queued)->turn_id() == (*cancel)->turn_id()) {
          answer_error(self, *it, session_error("cancelled", "the turn was cancelled"));
          st.queue.erase(it);
          break;
        }
      }
    }
    if (in.reply->expected())
      (void) in.reply->send(bus::make_reply(in.env, ack));
  } else {
    answer_error(self, in,
                 session_error("unknown_type", "a session does not handle " + type));
  }
}

caf::behavior session_actor(self_ptr self, session_env_ptr env, session_start start) {
  auto& st = self->state;
  st.env = env;
  st.info = std::move(start.info);
  st.window.emplace(env->settings.max_history_messages);
  for (const auto& m : start.history)
    st.window->append(m);
  st.client.emplace(env->transport, bus::request_options{env->max_envelope_bytes, env->keys});
  st.out.emplace(env->one_way ? env->one_way : env->transport);
  st.self_subject = *env->subjects.direct(env->node_id, "session", st.info.id());
  arm_idle(self);
  return {
    [self](inbound_atom, bus::inbound& in) { on_inbound(self, in); },
    [self](committed_atom, const std::string& turn, const caf::error& err,
           std::vector<troupe::v1::ChatMessage>& msgs) { on_committed(self, turn, err, msgs); },
    [self](settle_atom, uint64_t token) {
      auto& st = self->state;
      if (st.current && st.current->result && st.current->settle_token == token)
        settle(self, true);
    },
    [self](idle_atom) { check_idle(self); },
    [self](stop_atom) { self->quit(); },
    [self](reply_atom, uint64_t token, bus::message& m) {
      self->state.client->handle_reply(token, m);
    },
    [self](timeout_atom, uint64_t timer) { self->state.client->handle_timeout(timer); },
  };
}

} // namespace

caf::actor spawn_session(caf::actor_system& sys, session_env_ptr env, session_start start) {
  return sys.spawn(session_actor, std::move(env), std::move(start));
}

} // namespace troupe::session
