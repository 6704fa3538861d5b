#include "actors/session/session_actor.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <deque>
#include <optional>
#include <unordered_map>

#include "actors/session/context_window.hpp"
#include "actors/session/errc.hpp"
#include "actors/session/recent_turns.hpp"
#include "actors/session/turn_events.hpp"
#include "actors/session/turn_queue.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/publisher.hpp"
#include "bus/request_client.hpp"
#include "common/logging.hpp"

namespace troupe::session::detail {

struct commit_outcome {
  turn_id turn;
  std::optional<troupe::v1::Error> error;
  std::vector<troupe::v1::ChatMessage> messages; // appended to the history once committed
};

struct event_outcome {
  turn_id turn;
  uint32_t seq = 0;
  std::optional<troupe::v1::Error> error;
};

} // namespace troupe::session::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::session::detail::commit_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::session::detail::event_outcome)

namespace troupe::session {

namespace {

using detail::commit_outcome;
using detail::event_outcome;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using acked_atom = caf::atom_constant<caf::atom("acked")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;

using session_impl = session_actor::extend<caf::reacts_to<committed_atom, commit_outcome>,
                                           caf::reacts_to<acked_atom, event_outcome>,
                                           caf::reacts_to<tick_atom>, caf::reacts_to<idle_atom>>::
  extend_with<bus::request_client_actor>;

/// How far a turn's events are stored, shared with the event log's
/// callbacks: an acknowledgement becomes a message to the actor only when
/// the turn waits for it (or it is a failure), not once per event.
struct event_progress {
  std::atomic<uint32_t> stored{0}; // events acknowledged (a turn's are acknowledged in order)
  // The turn's await_events{through} not answered yet, as through + 1 (0: none):
  // the turn waits until `stored` reaches it.
  std::atomic<uint32_t> wanted{0};
};

/// What the actor keeps of one turn beside its machine: the request to
/// answer, and where its events and its model call stand.
struct turn_io {
  bus::in<troupe::v1::TurnRequest> request;
  turn_clock::time_point arrived = turn_clock::now();
  turn_clock::time_point deadline = turn_clock::time_point::max();
  std::shared_ptr<event_progress> events = std::make_shared<event_progress>();
  std::optional<troupe::v1::Error> events_failed;
  std::optional<uint64_t> model_call;      // the request_client token of the model call
};

struct state {
  session_env_ptr env;
  troupe::v1::SessionInfo info;
  session_id id;
  caf::actor host;
  std::optional<context_window> window;
  std::optional<recent_turns> recent;
  std::optional<turn_queue> turns;
  std::unordered_map<turn_id, turn_io> io;
  std::optional<bus::request_client> client;
  std::optional<bus::publisher> out;
  /// Inputs found while carrying out effects (an event already acknowledged
  /// when the turn asks for it): fed after the current batch, not recursively.
  std::deque<std::function<turn_queue::out()>> later;
  bool running = false; // inside run(): inputs wait in `later`
  std::optional<turn_clock::time_point> tick_at; // the deadline timer armed
  turn_clock::time_point last_active = turn_clock::now();
  bool idle_armed = false;
  bool passivating = false;
  static inline const char* name = "session";
};

using self_ptr = session_impl::stateful_pointer<state>;

/// How many committed turns a session can answer again by id: a re-sent turn
/// is the session's last one, a client's retry one of its last few.
constexpr size_t remembered_turns = 64;

void run(self_ptr self, turn_queue::out out);

/// Feeds an input now, or — when it comes while effects are being carried
/// out (a callback called before request() returned) — right after them.
void feed(self_ptr self, std::function<turn_queue::out()> input) {
  if (self->state.running)
    self->state.later.push_back(std::move(input));
  else
    run(self, input());
}

void answer_error(self_ptr self, const bus::inbound& in, troupe::v1::Error err) {
  if (in.reply->expected())
    if (auto e = in.reply->send(bus::error_reply(in.env, std::move(err))))
      log::get("session")->debug("session {}: error reply not sent: {}", self->state.id,
                                 bus::describe(e));
}

void emit_event(self_ptr self, const turn_id& turn, turn_io& io, const fx::event& e) {
  auto& st = self->state;
  troupe::v1::TurnEvent ev;
  ev.set_id(bus::new_message_id());
  ev.set_tenant(st.info.tenant());
  ev.set_session_id(st.id.str());
  ev.set_turn_id(turn.str());
  ev.set_seq(e.seq);
  ev.set_type(e.type);
  ev.set_at_unix_ms(bus::now_unix_ms());
  ev.set_node(st.env->node_id);
  ev.set_traceparent(io.request.env().traceparent());
  ev.set_error_code(e.error_code);
  if (e.payload) {
    ev.set_payload_type(e.payload->GetDescriptor()->full_name());
    ev.set_payload(e.payload->SerializeAsString());
  }
  auto me = caf::actor_cast<caf::actor>(self);
  auto done = [me, turn, seq = e.seq, progress = io.events](caf::error err) {
    // Against check_events: the turn stores `wanted`, then reads `stored`;
    // this adds to `stored`, then reads `wanted` (both sequentially
    // consistent), so one of the two sees the other and no wait is missed.
    if (!err) {
      auto stored = progress->stored.fetch_add(1) + 1;
      auto wanted = progress->wanted.load();
      if (wanted == 0 || stored < wanted)
        return;
    }
    event_outcome o{turn, seq, std::nullopt};
    if (err)
      o.error = bus::error_payload(err);
    caf::anon_send(me, acked_atom::value, std::move(o));
  };
  auto subject = st.env->subjects.events(st.info.tenant(), st.id.str(), turn.str(),
                                         event_token(e.type));
  if (!subject)
    return done(subject.error());
  auto env = bus::make_envelope(ev);
  env.set_tenant(st.info.tenant());
  // Events outlive a failed turn a little: its TURN_FAILED still deserves a
  // place in the log even when the failure was its deadline.
  auto now = turn_clock::now();
  auto deadline = std::min(std::max(io.deadline, now) + st.env->event_grace,
                           now + st.env->event_horizon);
  st.env->events->append(
    {turn.str(), std::move(*subject), env.SerializeAsString(), ev.id(), deadline, std::move(done)});
}

/// The answer to an await_events, when it is known now.
void check_events(self_ptr self, const turn_id& turn, turn_io& io) {
  auto wanted = io.events->wanted.load();
  if (wanted == 0)
    return;
  auto through = wanted - 1;
  std::optional<troupe::v1::Error> err;
  if (io.events_failed)
    err = io.events_failed;
  else if (io.events->stored.load() < wanted)
    return;
  io.events->wanted.store(0);
  self->state.later.push_back([self, turn, through, err] {
    return self->state.turns->to_current(turn, turn_clock::now(), [&](turn_machine& m) {
      return m.events_acked(through, err);
    });
  });
}

void call_model(self_ptr self, const turn_id& turn, turn_io& io, fx::call_model& c) {
  auto& st = self->state;
  troupe::v1::GenerateRequest head;
  head.set_model(c.model);
  head.set_turn_id(turn.str());
  head.set_temperature(-1);
  head.set_stream(io.request.msg().stream());
  auto env = bus::make_envelope(head.GetDescriptor()->full_name(),
                                st.window->encode(head, c.before, c.after));
  env.set_tenant(st.info.tenant());
  *env.mutable_principal() = io.request.env().principal();
  env.set_traceparent(io.request.env().traceparent());
  auto timeout = st.env->inference_timeout;
  if (io.deadline != turn_clock::time_point::max()) {
    env.set_deadline_unix_ms(io.request.env().deadline_unix_ms());
    timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(io.deadline - turn_clock::now(), turn_clock::duration{std::chrono::milliseconds{1}}));
  }
  auto subject = st.env->subjects.svc("inference");
  if (!subject) {
    st.later.push_back([self, turn, err = bus::error_payload(subject.error())] {
      return self->state.turns->to_current(turn, turn_clock::now(), [&](turn_machine& m) {
        return m.stage_failed(stage::model, err);
      });
    });
    return;
  }
  bus::call_options opts;
  opts.owner = bus::reply_owner{tenant_id{st.info.tenant()}, user_id{st.info.user()}};
  if (head.stream())
    opts.on_partial = [self, turn](bus::reply r) {
      auto chunk = bus::reply_as<troupe::v1::GenerateChunk>(r);
      if (!chunk)
        return; // a partial of another type: nothing for the client
      feed(self, [self, turn, chunk = std::move(*chunk)] {
        return self->state.turns->to_current(turn, turn_clock::now(), [&](turn_machine& m) {
          return m.model_delta(chunk->delta());
        });
      });
    };
  auto queued = st.later.size();
  st.client->request(
    self, *subject, std::move(env), timeout,
    [self, turn](caf::expected<bus::reply> reply) {
      auto& st = self->state;
      if (auto it = st.io.find(turn); it != st.io.end())
        it->second.model_call.reset();
      auto result = bus::reply_as<troupe::v1::GenerateResult>(reply);
      feed(self, [self, turn, result = std::move(result)] {
        return self->state.turns->to_current(turn, turn_clock::now(), [&](turn_machine& m) {
          if (!result)
            return m.stage_failed(stage::model, bus::error_payload(result.error()));
          return m.model_answered(**result);
        });
      });
    },
    std::move(opts));
  // A failure found before publishing ended the call already (its outcome
  // waits in `later`): then there is nothing to abandon.
  if (st.later.size() == queued)
    io.model_call = st.client->last_token();
}

/// Abandons the model call and asks whichever inference instance runs it to
/// stop (the caller has stopped waiting; the tokens would be wasted).
void stop(self_ptr self, const turn_id& turn, turn_io& io) {
  auto& st = self->state;
  if (!io.model_call)
    return;
  st.client->abandon(*io.model_call);
  io.model_call.reset();
  troupe::v1::CancelTurn req;
  req.set_session_id(st.id.str());
  req.set_turn_id(turn.str());
  auto env = bus::make_envelope(req);
  env.set_tenant(st.info.tenant());
  *env.mutable_principal() = io.request.env().principal();
  auto subject = st.env->subjects.broadcast("inference", "cancel");
  if (auto err = subject ? st.out->publish(*subject, env) : subject.error())
    log::get("session")->warn("session {}: turn {}: the cancel did not reach inference: {}", st.id,
                              turn, bus::describe(err));
}

void commit(self_ptr self, const turn_id& turn, fx::commit& c) {
  auto& st = self->state;
  auto me = caf::actor_cast<caf::actor>(self);
  auto msgs = c.messages;
  st.env->turn_store->commit({st.id.str(), turn.str(), std::move(c.messages), std::move(c.model)},
                        [me, turn, msgs = std::move(msgs)](
                          caf::expected<storage::commit_result> r) mutable {
                          commit_outcome o{turn, std::nullopt, std::move(msgs)};
                          if (!r)
                            o.error = bus::error_payload(r.error());
                          caf::anon_send(me, committed_atom::value, std::move(o));
                        });
}

void finish(self_ptr self, const turn_id& turn, turn_io& io, turn_outcome outcome) {
  self->state.env->metrics->turn(outcome, turn_clock::now() - io.arrived);
  self->state.io.erase(turn);
}

void apply(self_ptr self, const turn_id& turn, effect& e) {
  auto& st = self->state;
  auto it = st.io.find(turn);
  if (it == st.io.end())
    return; // a turn already answered
  auto& io = it->second;
  std::visit(
    [&](auto& x) {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, fx::event>) {
        emit_event(self, turn, io, x);
      } else if constexpr (std::is_same_v<T, fx::chunk>) {
        if (auto err = io.request.reply().send_partial(bus::make_reply(io.request.env(), x.chunk)))
          log::get("session")->debug("session {}: turn {}: chunk not sent: {}", st.id, turn,
                                     bus::describe(err));
      } else if constexpr (std::is_same_v<T, fx::call_model>) {
        call_model(self, turn, io, x);
      } else if constexpr (std::is_same_v<T, fx::stop>) {
        stop(self, turn, io);
      } else if constexpr (std::is_same_v<T, fx::commit>) {
        commit(self, turn, x);
      } else if constexpr (std::is_same_v<T, fx::await_events>) {
        io.events->wanted.store(x.through_seq + 1);
        check_events(self, turn, io);
      } else if constexpr (std::is_same_v<T, fx::answer>) {
        // Counted before the answer: a client that reads the metrics once
        // answered finds its turn there.
        auto reply = bus::make_reply(io.request.env(), x.result);
        st.recent->add(x.result);
        auto req = std::move(io.request);
        finish(self, turn, io, turn_outcome::completed);
        if (req.reply().expected())
          if (auto err = req.reply().send(std::move(reply)))
            log::get("session")->warn("session {}: turn {} committed but not answered: {}",
                                      st.id, turn, bus::describe(err));
      } else if constexpr (std::is_same_v<T, fx::fail>) {
        log::get("session")->info("session {}: turn {} failed: {}/{}: {}", st.id, turn,
                                  x.error.component(), x.error.code(), x.error.message());
        auto req = std::move(io.request);
        finish(self, turn, io,
               x.error.code() == "cancelled" ? turn_outcome::cancelled : turn_outcome::failed);
        answer_error(self, req.raw, std::move(x.error));
      } else {
        // check_input, prefetch_memory, call_tool, check_output: the node
        // builds its pipeline from the roles it has, and none of these stages
        // exists yet, so the machine never asks for them. Should it, the
        // turn fails plainly rather than waiting for nothing.
        st.later.push_back([self, turn] {
          return self->state.turns->to_current(turn, turn_clock::now(), [](turn_machine& m) {
            return m.abort(error_of(errc::stage_unavailable, "no role serves this stage"));
          });
        });
      }
    },
    e);
}

void arm_tick(self_ptr self) {
  auto& st = self->state;
  auto next = st.turns->next_deadline();
  if (!next || (st.tick_at && *st.tick_at <= *next))
    return;
  st.tick_at = *next;
  auto in = std::chrono::duration_cast<caf::timespan>(*next - turn_clock::now());
  self->delayed_send(self, std::max(in, caf::timespan{0}), tick_atom::value);
}

void arm_idle(self_ptr self) {
  auto& st = self->state;
  st.last_active = turn_clock::now();
  if (st.idle_armed)
    return;
  st.idle_armed = true;
  self->delayed_send(self, st.env->settings.idle_timeout, idle_atom::value);
}

void run(self_ptr self, turn_queue::out out) {
  auto& st = self->state;
  st.running = true;
  for (;;) {
    for (auto& t : out)
      apply(self, t.turn, t.what);
    if (st.later.empty())
      break;
    auto next = std::move(st.later.front());
    st.later.pop_front();
    out = next();
  }
  st.running = false;
  arm_tick(self);
  if (st.turns->idle())
    arm_idle(self);
}

/// Passivates the session when it has been idle for idle_timeout (the host
/// agrees first, so nothing is routed to an actor that quits), else checks
/// again when it could be.
void check_idle(self_ptr self) {
  auto& st = self->state;
  st.idle_armed = false;
  auto idle_for = turn_clock::now() - st.last_active;
  bool busy = !st.turns->idle() || !st.io.empty();
  if (!busy && idle_for >= st.env->settings.idle_timeout) {
    if (!st.passivating) {
      st.passivating = true;
      caf::anon_send(st.host, passivate_atom::value, st.id.str());
    }
    return;
  }
  st.idle_armed = true;
  auto remaining = busy ? st.env->settings.idle_timeout
                        : std::chrono::duration_cast<caf::timespan>(st.env->settings.idle_timeout
                                                                    - idle_for);
  self->delayed_send(self, remaining, idle_atom::value);
}

/// The principal must be the session's owner: a session answers no one else.
bool owned_by_caller(self_ptr self, const bus::inbound& in) {
  const auto& info = self->state.info;
  if (!in.principal) {
    answer_error(self, in, error_of(errc::principal_missing, "a turn needs a signed principal"));
    return false;
  }
  if (in.principal->tenant() != info.tenant() || in.principal->user() != info.user()) {
    // Same answer as for a session that does not exist: ids are not probes.
    answer_error(self, in, error_of(errc::session_not_found, "no session " + info.id()));
    return false;
  }
  return true;
}

/// A turn that committed before is answered as it was, without running again;
/// asked with another message, its id is refused rather than answering a
/// question with someone else's answer.
void replay(self_ptr self, bus::in<troupe::v1::TurnRequest>& in, troupe::v1::TurnResult done) {
  auto& st = self->state;
  const auto& req = in.msg();
  if (st.recent->question(turn_id{done.turn_id()}) != req.message())
    return answer_error(self, in.raw,
                        error_of(errc::turn_id_reused, "turn " + done.turn_id()
                                                         + " was asked with another message"));
  log::get("session")->debug("session {}: turn {} answered again from its commit", st.id,
                             done.turn_id());
  if (!in.reply().expected())
    return;
  if (req.stream() && !done.reply().content().empty()) {
    // A streaming client reads the text from chunks: the whole of it, at once.
    troupe::v1::TurnChunk chunk;
    chunk.set_turn_id(done.turn_id());
    chunk.set_session_id(done.session_id());
    chunk.set_delta(done.reply().content());
    (void) in.reply().send_partial(bus::make_reply(in.env(), chunk));
  }
  if (auto err = in.reply().send(bus::make_reply(in.env(), done)))
    log::get("session")->warn("session {}: turn {} not answered again: {}", st.id, done.turn_id(),
                              bus::describe(err));
}

void on_turn(self_ptr self, bus::in<troupe::v1::TurnRequest>& in) {
  auto& st = self->state;
  st.last_active = turn_clock::now();
  if (!owned_by_caller(self, in.raw))
    return;
  const auto& req = in.msg();
  if (req.message().empty())
    return answer_error(self, in.raw, error_of(errc::invalid_request, "the turn has no message"));
  if (req.message().find('\0') != std::string::npos)
    return answer_error(self, in.raw,
                        error_of(errc::invalid_request, "the message contains a NUL character"));
  turn_start t;
  t.session = st.id;
  t.turn = turn_id{req.turn_id().empty() || !bus::valid_token(req.turn_id())
                     ? bus::new_message_id()
                     : req.turn_id()};
  if (auto done = st.recent->find(t.turn))
    return replay(self, in, std::move(*done));
  if (st.io.count(t.turn))
    return answer_error(self, in.raw,
                        error_of(errc::turn_in_progress,
                                 "turn " + t.turn.str() + " is already queued or running"));
  t.request = req;
  auto now = turn_clock::now();
  if (auto d = in.env().deadline_unix_ms(); d > 0)
    t.deadline = now + std::chrono::milliseconds{d - bus::now_unix_ms()};
  auto& io = st.io[t.turn];
  io.request = std::move(in);
  io.deadline = t.deadline;
  run(self, st.turns->arrive(std::move(t), now));
}

void on_cancel(self_ptr self, bus::in<troupe::v1::CancelTurn>& in) {
  auto& st = self->state;
  if (!owned_by_caller(self, in.raw))
    return;
  auto id = turn_id{in.msg().turn_id()};
  troupe::v1::TurnCancelled ack;
  ack.set_turn_id(id.str());
  if (auto* cur = st.turns->current(); cur && cur->id() == id)
    ack.set_was_running(true);
  run(self, st.turns->cancel(id, turn_clock::now()));
  if (in.reply().expected())
    (void) in.reply().send(bus::make_reply(in.env(), ack));
}

void on_committed(self_ptr self, commit_outcome& o) {
  auto& st = self->state;
  // The store has them whatever became of the turn meanwhile: the history
  // the next turn sends the model must match what is stored.
  if (!o.error)
    for (const auto& m : o.messages)
      st.window->append(m);
  run(self, st.turns->to_current(o.turn, turn_clock::now(), [&](turn_machine& m) {
    return m.committed(o.error);
  }));
}

void on_acked(self_ptr self, event_outcome& o) {
  auto& st = self->state;
  auto it = st.io.find(o.turn);
  if (it == st.io.end())
    return;
  auto& io = it->second;
  if (o.error && !io.events_failed)
    io.events_failed = o.error;
  check_events(self, o.turn, io);
  run(self, {});
}

/// Ends every turn with `err` and drops the history.
void stop_all(self_ptr self, const troupe::v1::Error& err) {
  auto& st = self->state;
  run(self, st.turns->abort_all(err));
  // Turns whose machine is gone but whose io remains (none should): answered too.
  for (auto& [turn, io] : st.io)
    answer_error(self, io.request.raw, err);
  st.io.clear();
  st.window.reset();
}

session_impl::behavior_type session_fn(self_ptr self, session_env_ptr env, session_start start) {
  auto& st = self->state;
  st.env = env;
  st.info = std::move(start.info);
  st.id = session_id{st.info.id()};
  st.host = std::move(start.host);
  st.window.emplace(env->settings.max_history_messages);
  for (const auto& m : start.history)
    st.window->append(m);
  st.recent.emplace(remembered_turns);
  st.recent->load(start.history, st.id, st.info.model());
  st.turns.emplace(env->pipeline, turn_context{bus::new_message_id, bus::now_unix_ms},
                   env->settings.max_queued_turns,
                   [self] { return static_cast<uint32_t>(self->state.window->size()); });
  st.client.emplace(env->transport,
                    bus::request_options{env->max_envelope_bytes, env->keys, env->registry});
  st.out.emplace(env->one_way ? env->one_way : env->transport);
  // A node that stops ends its sessions' turns plainly rather than leaving
  // their callers to time out.
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    stop_all(self, error_of(errc::session_stopped, "the node hosting the session is stopping"));
    self->quit(msg.reason);
  });
  arm_idle(self);
  return {
    [self](bus::in<troupe::v1::TurnRequest>& in) { on_turn(self, in); },
    [self](bus::in<troupe::v1::CancelTurn>& in) { on_cancel(self, in); },
    [self](passivate_atom) {
      auto& st = self->state;
      st.passivating = false;
      if (st.turns->idle() && st.io.empty()) {
        log::get("session")->debug("session {} passivated after {} s idle", st.id,
                                   st.env->settings.idle_timeout.count());
        self->quit();
        return;
      }
      caf::anon_send(st.host, resume_atom::value, st.id.str());
    },
    [self](bus::in<troupe::v1::SessionDeleted>& in) {
      if (!owned_by_caller(self, in.raw))
        return;
      stop_all(self, error_of(errc::session_not_found, "the session was deleted"));
      if (in.reply().expected())
        (void) in.reply().send(bus::make_reply(in.env(), in.msg()));
      self->quit();
    },
    [self](committed_atom, commit_outcome& o) { on_committed(self, o); },
    [self](acked_atom, event_outcome& o) { on_acked(self, o); },
    [self](tick_atom) {
      self->state.tick_at.reset();
      run(self, self->state.turns->tick(turn_clock::now()));
    },
    [self](idle_atom) { check_idle(self); },
    [self](reply_atom, uint64_t token, bus::message& m) {
      self->state.client->handle_reply(token, m);
    },
    [self](timeout_atom, uint64_t timer) { self->state.client->handle_timeout(timer); },
  };
}

} // namespace

session_actor spawn_session(caf::actor_system& sys, session_env_ptr env, session_start start) {
  return caf::actor_cast<session_actor>(sys.spawn(session_fn, std::move(env), std::move(start)));
}

} // namespace troupe::session
