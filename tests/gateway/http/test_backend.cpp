#include "tests/gateway/http/test_backend.hpp"

namespace troupe::test {

turn_script answers(troupe::v1::TurnResult r) {
  turn_script s;
  s.result = std::move(r);
  return s;
}

turn_script fails(gateway::api_error e) {
  return fails_after({}, std::move(e));
}

turn_script fails_after(std::vector<troupe::v1::TurnChunk> chunks, gateway::api_error e) {
  turn_script s;
  s.chunks = std::move(chunks);
  s.error = std::move(e);
  return s;
}

turn_script hangs_after(std::vector<troupe::v1::TurnChunk> chunks) {
  turn_script s;
  s.chunks = std::move(chunks);
  s.never_finish = true;
  return s;
}

troupe::v1::TurnChunk delta(std::string text) {
  troupe::v1::TurnChunk c;
  c.set_delta(std::move(text));
  return c;
}

troupe::v1::TurnChunk tool_call(std::string id, std::string name, std::string args) {
  troupe::v1::TurnChunk c;
  c.mutable_tool_call()->set_id(std::move(id));
  c.mutable_tool_call()->set_name(std::move(name));
  c.mutable_tool_call()->set_arguments_json(std::move(args));
  return c;
}

troupe::v1::TurnChunk tool_result(std::string id, std::string name, std::string content) {
  troupe::v1::TurnChunk c;
  c.mutable_tool_result()->set_tool_call_id(std::move(id));
  c.mutable_tool_result()->set_name(std::move(name));
  c.mutable_tool_result()->set_content(std::move(content));
  return c;
}

troupe::v1::TurnResult reply(std::string text) {
  troupe::v1::TurnResult r;
  r.mutable_reply()->set_role("assistant");
  r.mutable_reply()->set_content(std::move(text));
  r.set_model("test-model");
  r.mutable_usage()->set_prompt_tokens(3);
  r.mutable_usage()->set_completion_tokens(5);
  r.mutable_usage()->set_total_tokens(8);
  r.set_finish_reason("stop");
  return r;
}

test_backend::~test_backend() {
  std::vector<std::function<void()>> held;
  {
    std::lock_guard lock{mutex_};
    held.swap(held_);
    for (auto& t : turns_running_) { // a turn the gateway never cancelled must still end
      std::lock_guard turn{t->mutex};
      t->cancelled = true;
      t->cv.notify_all();
    }
  }
  for (auto& answer : held)
    answer();
  for (auto& t : threads_)
    t.join();
}

void test_backend::script_turn(turn_script s) {
  std::lock_guard lock{mutex_};
  scripts_.push_back(std::move(s));
}

std::vector<gateway::turn_input> test_backend::inputs() const {
  std::lock_guard lock{mutex_};
  return inputs_;
}

troupe::v1::Principal test_backend::last_principal() const {
  std::lock_guard lock{mutex_};
  return last_principal_;
}

troupe::v1::ListSessions test_backend::last_list() const {
  std::lock_guard lock{mutex_};
  return last_list_;
}

troupe::v1::GetMessages test_backend::last_messages() const {
  std::lock_guard lock{mutex_};
  return last_messages_;
}

std::string test_backend::last_session_id() const {
  std::lock_guard lock{mutex_};
  return last_session_id_;
}

gateway::cancel_fn test_backend::chat(gateway::turn_input in,
                                      std::function<void(const troupe::v1::TurnChunk&)> on_chunk,
                                      gateway::callback<troupe::v1::TurnResult> done) {
  if (throw_on_chat)
    throw std::runtime_error("backend exploded");
  if (answer_inline) {
    auto r = reply("hi");
    r.set_session_id("s-inline");
    r.set_turn_id("t-inline");
    done(std::move(r));
    return [] {};
  }
  turn_script s;
  std::string session;
  std::string turn;
  {
    std::lock_guard lock{mutex_};
    if (!scripts_.empty()) {
      s = std::move(scripts_.front());
      scripts_.pop_front();
    } else {
      s.result = reply("hello");
    }
    // A session named by the client's own key gets that name here, so tests
    // can see which key picked it.
    session = !in.session_id.empty()    ? in.session_id
              : !in.session_key.empty() ? in.session_key
                                        : "s-new";
    turn = "t" + std::to_string(++turns_);
    inputs_.push_back(in);
  }
  auto state = std::make_shared<turn_state>();
  auto run = [this, s = std::move(s), state, session, turn, stream = in.stream,
              on_chunk = std::move(on_chunk), done = std::move(done)]() mutable {
    // Waits `s.delay`; true when the turn was cancelled meanwhile.
    auto cancelled_after = [&](std::chrono::milliseconds d) {
      std::unique_lock lock{state->mutex};
      return state->cv.wait_for(lock, d, [&] { return state->cancelled; });
    };
    for (auto& c : s.chunks) {
      if (cancelled_after(s.delay))
        break;
      c.set_session_id(session);
      c.set_turn_id(turn);
      if (stream)
        on_chunk(c);
    }
    bool cancelled = cancelled_after(s.delay);
    if (!cancelled && s.never_finish) {
      std::unique_lock lock{state->mutex};
      state->cv.wait(lock, [&] { return state->cancelled; });
      cancelled = true;
    }
    if (cancelled) {
      done(gateway::api_error{499, "cancelled", "the client went away"});
    } else if (s.error) {
      done(*s.error);
    } else {
      if (s.result.session_id().empty())
        s.result.set_session_id(session);
      if (s.result.turn_id().empty())
        s.result.set_turn_id(turn);
      done(std::move(s.result));
    }
    ++finished_;
  };
  {
    std::lock_guard lock{mutex_};
    turns_running_.push_back(state);
    threads_.emplace_back(std::move(run));
  }
  return [this, state] {
    std::lock_guard lock{state->mutex};
    if (!state->cancelled)
      ++cancelled_;
    state->cancelled = true;
    state->cv.notify_all();
  };
}

void test_backend::note(const troupe::v1::Principal& who, std::string session_id) {
  std::lock_guard lock{mutex_};
  last_principal_ = who;
  last_session_id_ = std::move(session_id);
}

template <class T> bool test_backend::refuse_or_hold(gateway::callback<T>& done) {
  if (hold_queries) {
    std::lock_guard lock{mutex_};
    held_.push_back([done] { done(gateway::api_error{503, "shutting_down", "test over"}); });
    return false;
  }
  if (query_error) {
    done(*query_error);
    return false;
  }
  return true;
}

void test_backend::list_sessions(const troupe::v1::Principal& who, troupe::v1::ListSessions q,
                                 gateway::callback<troupe::v1::SessionList> done) {
  note(who, {});
  {
    std::lock_guard lock{mutex_};
    last_list_ = q;
  }
  if (refuse_or_hold(done))
    done(sessions);
}

void test_backend::get_session(const troupe::v1::Principal& who, std::string session_id,
                               gateway::callback<troupe::v1::SessionInfo> done) {
  note(who, session_id);
  if (!refuse_or_hold(done))
    return;
  for (const auto& s : sessions.sessions())
    if (s.id() == session_id)
      return done(s);
  done(gateway::api_error{404, "session_not_found", "no session " + session_id});
}

void test_backend::get_messages(const troupe::v1::Principal& who, troupe::v1::GetMessages q,
                                gateway::callback<troupe::v1::MessageList> done) {
  note(who, q.session_id());
  {
    std::lock_guard lock{mutex_};
    last_messages_ = q;
  }
  if (refuse_or_hold(done))
    done(messages);
}

void test_backend::delete_session(const troupe::v1::Principal& who, std::string session_id,
                                  gateway::callback<troupe::v1::SessionDeleted> done) {
  note(who, session_id);
  if (!refuse_or_hold(done))
    return;
  troupe::v1::SessionDeleted d;
  d.set_session_id(session_id);
  done(d);
}

void test_backend::list_models(const troupe::v1::Principal& who,
                               gateway::callback<troupe::v1::ModelList> done) {
  note(who, {});
  if (refuse_or_hold(done))
    done(models);
}

void test_authenticator::authenticate(gateway::credentials c,
                                      gateway::callback<troupe::v1::Principal> done) {
  ++calls;
  constexpr std::string_view scheme = "Bearer ";
  auto colon = c.authorization.find(':');
  if (!c.authorization.starts_with(scheme) || colon == std::string::npos)
    return done(gateway::api_error{401, "unauthenticated", "a bearer token is required"});
  troupe::v1::Principal p;
  p.set_tenant(c.authorization.substr(scheme.size(), colon - scheme.size()));
  p.set_user(c.authorization.substr(colon + 1));
  if (!c.tenant_header.empty() && c.tenant_header != p.tenant())
    return done(gateway::api_error{403, "tenant_mismatch", "X-Tenant-ID names another tenant"});
  done(std::move(p));
}

} // namespace troupe::test
