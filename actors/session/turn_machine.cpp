#include "actors/session/turn_machine.hpp"

#include <algorithm>

#include "actors/session/errc.hpp"

namespace troupe::session {

namespace {

using Type = troupe::v1::TurnEvent;

template <class T>
std::shared_ptr<const google::protobuf::Message> share(T msg) {
  return std::make_shared<const T>(std::move(msg));
}

void add_usage(troupe::v1::Usage& sum, const troupe::v1::Usage& u) {
  sum.set_prompt_tokens(sum.prompt_tokens() + u.prompt_tokens());
  sum.set_completion_tokens(sum.completion_tokens() + u.completion_tokens());
  sum.set_total_tokens(sum.total_tokens() + u.total_tokens());
}

} // namespace

turn_machine::turn_machine(pipeline p, turn_context ctx, turn_start start)
  : pipeline_(p), ctx_(std::move(ctx)), start_(std::move(start)) {
  pipeline_.max_model_calls = std::max<uint32_t>(pipeline_.max_model_calls, 1);
  user_ = message("user");
  user_.set_content(start_.request.message());
}

troupe::v1::ChatMessage turn_machine::message(std::string role) {
  troupe::v1::ChatMessage m;
  m.set_id(ctx_.new_id());
  m.set_role(std::move(role));
  m.set_turn_id(start_.turn.str());
  m.set_created_unix_ms(ctx_.unix_ms());
  return m;
}

void turn_machine::emit(effects& out, Type::Type type,
                        std::shared_ptr<const google::protobuf::Message> payload,
                        std::string error_code) {
  out.push_back(fx::event{type, event_seq_++, std::move(payload), std::move(error_code)});
}

void turn_machine::stream(effects& out, troupe::v1::TurnChunk c) {
  if (!start_.request.stream())
    return;
  c.set_turn_id(start_.turn.str());
  c.set_session_id(start_.session.str());
  c.set_seq(chunk_seq_++);
  out.push_back(fx::chunk{std::move(c)});
}

bool turn_machine::calls_in_flight() const noexcept {
  return (phase_ == phase::generating && model_in_flight_) || phase_ == phase::calling_tools;
}

void turn_machine::fail(effects& out, troupe::v1::Error error) {
  if (calls_in_flight())
    out.push_back(fx::stop{});
  phase_ = phase::failed;
  auto code = error.code();
  emit(out, Type::TURN_FAILED, share(error), std::move(code));
  out.push_back(fx::fail{std::move(error)});
}

effects turn_machine::start(turn_clock::time_point now) {
  effects out;
  if (phase_ != phase::created)
    return out;
  emit(out, Type::TURN_STARTED, share(start_.request));
  if (now >= start_.deadline) {
    fail(out, error_of(errc::deadline_expired, "the turn's deadline passed before it started"));
    return out;
  }
  if (pipeline_.guardrail_input) {
    phase_ = phase::checking_input;
    out.push_back(fx::check_input{user_.content()});
    return out;
  }
  advance_from(out, stage::guardrail_input);
  return out;
}

void turn_machine::advance_from(effects& out, stage done) {
  switch (done) {
  case stage::guardrail_input:
    if (pipeline_.memory_prefetch) {
      phase_ = phase::prefetching;
      out.push_back(fx::prefetch_memory{user_.content()});
      return;
    }
    [[fallthrough]];
  case stage::memory_prefetch:
    call_model(out);
    return;
  case stage::model:
  case stage::tool:
    if (pipeline_.guardrail_output) {
      phase_ = phase::checking_output;
      out.push_back(fx::check_output{reply_.content()});
      return;
    }
    [[fallthrough]];
  case stage::guardrail_output:
    begin_commit(out);
    return;
  }
}

void turn_machine::call_model(effects& out) {
  phase_ = phase::generating;
  model_in_flight_ = true;
  fx::call_model call{model_calls_++, start_.request.model(), {}, {}};
  call.before.assign(start_.request.extra_messages().begin(),
                     start_.request.extra_messages().end());
  call.before.insert(call.before.end(), memory_.begin(), memory_.end());
  call.after.push_back(user_);
  call.after.insert(call.after.end(), exchange_.begin(), exchange_.end());
  troupe::v1::ModelInvoked invoked;
  auto& req = *invoked.mutable_request();
  req.set_model(call.model);
  req.set_turn_id(start_.turn.str());
  for (const auto& m : call.before)
    *req.add_messages() = m;
  for (const auto& m : call.after)
    *req.add_messages() = m;
  invoked.set_history_messages(start_.history_messages);
  emit(out, Type::MODEL_INVOKED, share(std::move(invoked)));
  out.push_back(std::move(call));
}

effects turn_machine::input_checked(const guardrail_verdict& v) {
  effects out;
  if (phase_ != phase::checking_input)
    return out;
  emit(out, Type::GUARDRAIL_INPUT, nullptr, v.allowed ? std::string{} : v.reason);
  if (!v.allowed) {
    fail(out, error_of(errc::guardrail_blocked, "the input was refused: " + v.reason));
    return out;
  }
  if (v.rewritten)
    user_.set_content(*v.rewritten);
  advance_from(out, stage::guardrail_input);
  return out;
}

effects turn_machine::memory_loaded(std::vector<troupe::v1::ChatMessage> context) {
  effects out;
  if (phase_ != phase::prefetching)
    return out;
  memory_ = std::move(context);
  emit(out, Type::MEMORY_PREFETCH);
  advance_from(out, stage::memory_prefetch);
  return out;
}

effects turn_machine::model_delta(std::string_view text) {
  effects out;
  if (phase_ != phase::generating || text.empty())
    return out;
  troupe::v1::TurnChunk c;
  c.set_delta(std::string{text});
  stream(out, std::move(c));
  return out;
}

effects turn_machine::model_answered(troupe::v1::GenerateResult result) {
  effects out;
  if (phase_ != phase::generating)
    return out;
  model_in_flight_ = false;
  add_usage(usage_, result.usage());
  emit(out, Type::MODEL_RESPONSE, share(result));
  last_ = std::move(result);
  auto answer = message("assistant");
  answer.set_content(last_.message().content());
  *answer.mutable_tool_calls() = last_.message().tool_calls();
  if (answer.tool_calls_size() == 0 || !pipeline_.tools) {
    // The final answer. Tool calls without a tool stage end the turn as the
    // model gave them (finish_reason "tool_calls"): the client runs them.
    for (const auto& call : answer.tool_calls()) {
      troupe::v1::TurnChunk c;
      *c.mutable_tool_call() = call;
      stream(out, std::move(c));
    }
    reply_ = std::move(answer);
    advance_from(out, stage::model);
    return out;
  }
  if (model_calls_ >= pipeline_.max_model_calls) {
    fail(out, error_of(errc::step_limit_reached,
                       "the model asked for tools again after "
                         + std::to_string(model_calls_) + " calls (the turn's limit)"));
    return out;
  }
  phase_ = phase::calling_tools;
  calls_.assign(answer.tool_calls().begin(), answer.tool_calls().end());
  results_.assign(calls_.size(), std::nullopt);
  exchange_.push_back(std::move(answer));
  for (const auto& call : calls_) {
    troupe::v1::TurnChunk c;
    *c.mutable_tool_call() = call;
    stream(out, std::move(c));
    emit(out, Type::TOOL_CALLED, share(call));
    out.push_back(fx::call_tool{model_calls_ - 1, call});
  }
  return out;
}

effects turn_machine::tool_returned(troupe::v1::ToolResult result) {
  effects out;
  if (phase_ != phase::calling_tools)
    return out;
  auto it = std::find_if(calls_.begin(), calls_.end(), [&](const troupe::v1::ToolCall& c) {
    return c.id() == result.tool_call_id();
  });
  if (it == calls_.end())
    return out;
  auto& slot = results_[static_cast<size_t>(it - calls_.begin())];
  if (slot)
    return out; // a duplicate: the first result stands
  if (result.name().empty())
    result.set_name(it->name());
  emit(out, Type::TOOL_RETURNED, share(result));
  troupe::v1::TurnChunk c;
  *c.mutable_tool_result() = result;
  stream(out, std::move(c));
  slot = std::move(result);
  if (std::any_of(results_.begin(), results_.end(), [](const auto& r) { return !r; }))
    return out;
  for (auto& r : results_) {
    auto m = message("tool");
    m.set_tool_call_id(r->tool_call_id());
    m.set_name(r->name());
    m.set_content(r->content());
    exchange_.push_back(std::move(m));
  }
  calls_.clear();
  results_.clear();
  call_model(out);
  return out;
}

effects turn_machine::output_checked(const guardrail_verdict& v) {
  effects out;
  if (phase_ != phase::checking_output)
    return out;
  emit(out, Type::GUARDRAIL_OUTPUT, nullptr, v.allowed ? std::string{} : v.reason);
  if (!v.allowed) {
    fail(out, error_of(errc::guardrail_blocked, "the answer was refused: " + v.reason));
    return out;
  }
  if (v.rewritten)
    reply_.set_content(*v.rewritten);
  advance_from(out, stage::guardrail_output);
  return out;
}

effects turn_machine::stage_failed(stage s, troupe::v1::Error error) {
  effects out;
  bool current = (s == stage::guardrail_input && phase_ == phase::checking_input)
                 || (s == stage::memory_prefetch && phase_ == phase::prefetching)
                 || (s == stage::model && phase_ == phase::generating)
                 || (s == stage::tool && phase_ == phase::calling_tools)
                 || (s == stage::guardrail_output && phase_ == phase::checking_output);
  if (!current)
    return out;
  if (s == stage::model)
    model_in_flight_ = false; // it ended: only tool calls would need stopping
  fail(out, std::move(error));
  return out;
}

void turn_machine::begin_commit(effects& out) {
  result_.set_session_id(start_.session.str());
  result_.set_turn_id(start_.turn.str());
  *result_.mutable_reply() = reply_;
  result_.set_model(last_.model());
  *result_.mutable_usage() = usage_;
  result_.set_finish_reason(last_.finish_reason());
  *result_.add_messages() = user_;
  for (const auto& m : exchange_)
    *result_.add_messages() = m;
  *result_.add_messages() = reply_;
  if (result_.ByteSizeLong() > pipeline_.max_result_bytes) {
    fail(out, error_of(errc::result_too_large,
                       "the answer takes " + std::to_string(result_.ByteSizeLong())
                         + " bytes; at most " + std::to_string(pipeline_.max_result_bytes)
                         + " fit in a reply"));
    return;
  }
  phase_ = phase::committing;
  fx::commit c;
  c.messages.assign(result_.messages().begin(), result_.messages().end());
  c.model = last_.model();
  out.push_back(std::move(c));
  awaiting_ = event_seq_ - 1; // TURN_STARTED at least came before
  events_done_ = false;
  out.push_back(fx::await_events{*awaiting_});
}

void turn_machine::seal(effects& out) {
  phase_ = phase::sealing;
  emit(out, Type::TURN_PERSISTED);
  emit(out, Type::TURN_COMPLETED, share(result_));
  awaiting_ = event_seq_ - 1;
  events_done_ = false;
  out.push_back(fx::await_events{*awaiting_});
}

effects turn_machine::committed(std::optional<troupe::v1::Error> error) {
  effects out;
  if (phase_ != phase::committing || commit_done_)
    return out;
  if (error) {
    fail(out, error_of(errc::persist_failed, error->component() + "/" + error->code() + ": "
                                                 + error->message()));
    return out;
  }
  commit_done_ = true;
  if (events_done_)
    seal(out);
  return out;
}

effects turn_machine::events_acked(uint32_t through_seq, std::optional<troupe::v1::Error> error) {
  effects out;
  if ((phase_ != phase::committing && phase_ != phase::sealing) || awaiting_ != through_seq
      || events_done_)
    return out;
  if (error) {
    fail(out, error_of(errc::events_unavailable,
                       "the turn's events were not stored: " + error->message()));
    return out;
  }
  events_done_ = true;
  if (phase_ == phase::sealing) {
    phase_ = phase::answered;
    out.push_back(fx::answer{result_});
  } else if (commit_done_) {
    seal(out);
  }
  return out;
}

effects turn_machine::cancel() {
  effects out;
  if (finished() || phase_ == phase::committing || phase_ == phase::sealing)
    return out;
  fail(out, error_of(errc::cancelled, "the turn was cancelled"));
  return out;
}

effects turn_machine::abort(troupe::v1::Error error) {
  effects out;
  if (!finished())
    fail(out, std::move(error));
  return out;
}

effects turn_machine::tick(turn_clock::time_point now) {
  effects out;
  if (finished() || now < start_.deadline)
    return out;
  if ((phase_ == phase::committing && commit_done_) || phase_ == phase::sealing)
    fail(out, error_of(errc::events_unavailable,
                       "the turn's events were not stored before its deadline"));
  else
    fail(out, error_of(errc::deadline_expired, "the turn did not finish before its deadline"));
  return out;
}

} // namespace troupe::session
