#pragma once
/// The logic of one chat turn as a plain state machine. It takes inputs —
/// the request, each stage's result, streamed model deltas, a cancel, the
/// time, the outcome of the commit and of the events' acknowledgement — and
/// returns the effects the session actor carries out: call a stage, emit a
/// turn event, stream to the client, commit, wait for the events, answer,
/// fail. It owns no scheduler, no I/O and no clock: time comes with the
/// inputs, message ids and wall time from turn_context, so tests drive every
/// path without an actor system.
///
/// The stages, in order:
///
///   guardrail input -> memory prefetch -> model <-> tools -> guardrail output
///   -> commit -> answer
///
/// A stage the pipeline does not have is skipped. The model and the tools
/// form a loop: when the model asks for tools (and the pipeline has them),
/// every call runs, the results go back to the model, and so on for at most
/// `max_model_calls` model calls. Without tools, a model answer that asks for
/// some ends the turn with finish_reason "tool_calls", as the model gave it.
///
/// The end of a turn: its messages are committed while the events emitted so
/// far are acknowledged (the two run in parallel); then TURN_PERSISTED and
/// TURN_COMPLETED are emitted and the answer waits for their acknowledgement
/// too, so a turn answered as a success has every one of its events stored.
/// A turn fails at the first failing step with a session errc (or the code
/// the failing stage gave), emits TURN_FAILED, and commits nothing — except
/// that a commit already under way is not called back: a cancel or deadline
/// that comes after it was issued leaves its outcome to the store.
///
/// Inputs that do not fit the turn's phase (a late model answer after a
/// cancel, a second result for a tool call, ...) are ignored: they return no
/// effects.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ids.hpp"
#include "troupe/v1/chat.pb.h"
#include "troupe/v1/envelope.pb.h"
#include "troupe/v1/inference.pb.h"
#include "troupe/v1/turn_event.pb.h"

namespace troupe::session {

using turn_clock = std::chrono::steady_clock;

/// The stages a node runs, decided from the roles the cluster has.
struct pipeline {
  bool guardrail_input = false;
  bool memory_prefetch = false;
  bool tools = false;
  bool guardrail_output = false;
  /// The most model calls one turn makes (the tool loop's bound); at least 1.
  uint32_t max_model_calls = 8;
  /// The largest TurnResult the turn may answer with (the bus's envelope
  /// limit less room for the envelope itself).
  size_t max_result_bytes = size_t{1} << 20;
};

/// Where a turn gets message ids and wall-clock times from.
struct turn_context {
  std::function<std::string()> new_id;
  std::function<int64_t()> unix_ms;
};

/// One turn as it arrived.
struct turn_start {
  session_id session;
  turn_id turn;
  troupe::v1::TurnRequest request; // message, model, extra (system) messages, stream
  turn_clock::time_point deadline = turn_clock::time_point::max();
  /// How many history messages a model call of this turn carries (shown in
  /// MODEL_INVOKED; the history itself is the session's).
  uint32_t history_messages = 0;
};

enum class stage : uint8_t { guardrail_input, memory_prefetch, model, tool, guardrail_output };

/// A guardrail's answer on a text.
struct guardrail_verdict {
  bool allowed = true;
  std::string reason;                   // why not allowed, for the error message
  std::optional<std::string> rewritten; // allowed, but with this text instead (redaction)
};

/// What the session actor must do, in the order given.
namespace fx {
/// Publish a turn event (the actor adds tenant, session, node, time, ...).
struct event {
  troupe::v1::TurnEvent::Type type;
  uint32_t seq;
  std::shared_ptr<const google::protobuf::Message> payload; // may be null
  std::string error_code;
};
/// Send a piece of the answer to a streaming client.
struct chunk {
  troupe::v1::TurnChunk chunk;
};
struct check_input {
  std::string text;
};
struct prefetch_memory {
  std::string query;
};
/// Ask the model: `before` (system and memory messages), the session's
/// history, then `after` (the user's message and this turn's tool exchange).
struct call_model {
  uint32_t step; // 0 for the first call of the turn
  std::string model;
  std::vector<troupe::v1::ChatMessage> before;
  std::vector<troupe::v1::ChatMessage> after;
};
struct call_tool {
  uint32_t step;
  troupe::v1::ToolCall call;
};
struct check_output {
  std::string text;
};
/// Abandon what the turn has in flight (a model call, tool calls).
struct stop {};
struct commit {
  std::vector<troupe::v1::ChatMessage> messages;
  std::string model;
};
/// Report (events_acked) once every event up to and including `through_seq` is stored.
struct await_events {
  uint32_t through_seq;
};
struct answer {
  troupe::v1::TurnResult result;
};
struct fail {
  troupe::v1::Error error;
};
} // namespace fx

using effect = std::variant<fx::event, fx::chunk, fx::check_input, fx::prefetch_memory,
                            fx::call_model, fx::call_tool, fx::check_output, fx::stop,
                            fx::commit, fx::await_events, fx::answer, fx::fail>;
using effects = std::vector<effect>;

class turn_machine {
public:
  enum class phase : uint8_t {
    created,
    checking_input,
    prefetching,
    generating,
    calling_tools,
    checking_output,
    committing, // commit and the acknowledgement of the events so far, in parallel
    sealing,    // committed; waiting for TURN_PERSISTED and TURN_COMPLETED to be stored
    answered,
    failed,
  };

  turn_machine(pipeline p, turn_context ctx, turn_start start);

  [[nodiscard]] const turn_id& id() const noexcept { return start_.turn; }
  [[nodiscard]] phase state() const noexcept { return phase_; }
  [[nodiscard]] bool finished() const noexcept {
    return phase_ == phase::answered || phase_ == phase::failed;
  }
  [[nodiscard]] turn_clock::time_point deadline() const noexcept { return start_.deadline; }

  /// TURN_STARTED, then the first stage (or a failure when the deadline has passed).
  [[nodiscard]] effects start(turn_clock::time_point now);

  [[nodiscard]] effects input_checked(const guardrail_verdict& v);
  /// Context the memory stage found for this turn (system messages); not committed.
  [[nodiscard]] effects memory_loaded(std::vector<troupe::v1::ChatMessage> context);
  [[nodiscard]] effects model_delta(std::string_view text);
  [[nodiscard]] effects model_answered(troupe::v1::GenerateResult result);
  /// One tool call's result (matched by tool_call_id); is_error results go
  /// back to the model like any other.
  [[nodiscard]] effects tool_returned(troupe::v1::ToolResult result);
  [[nodiscard]] effects output_checked(const guardrail_verdict& v);
  /// A stage could not give an answer at all (unreachable, timed out, refused).
  [[nodiscard]] effects stage_failed(stage s, troupe::v1::Error error);
  /// The commit's outcome: nullopt when committed.
  [[nodiscard]] effects committed(std::optional<troupe::v1::Error> error);
  /// The events' acknowledgement for an await_events{through_seq}: nullopt
  /// when every one is stored.
  [[nodiscard]] effects events_acked(uint32_t through_seq, std::optional<troupe::v1::Error> error);
  /// The client went away or asked to stop: the turn fails "cancelled"
  /// unless its commit is already under way.
  [[nodiscard]] effects cancel();
  /// Ends the turn now with `error`, whatever it is doing (the session is
  /// being deleted or stopped).
  [[nodiscard]] effects abort(troupe::v1::Error error);
  /// The time now: the turn fails once its deadline has passed.
  [[nodiscard]] effects tick(turn_clock::time_point now);

private:
  void emit(effects& out, troupe::v1::TurnEvent::Type type,
            std::shared_ptr<const google::protobuf::Message> payload = nullptr,
            std::string error_code = {});
  void stream(effects& out, troupe::v1::TurnChunk c);
  troupe::v1::ChatMessage message(std::string role);
  /// The next stage after `done` (in pipeline order), started.
  void advance_from(effects& out, stage done);
  void call_model(effects& out);
  void finish_model(effects& out);
  void begin_commit(effects& out);
  void seal(effects& out);
  void fail(effects& out, troupe::v1::Error error);
  bool calls_in_flight() const noexcept;

  pipeline pipeline_;
  turn_context ctx_;
  turn_start start_;
  phase phase_ = phase::created;
  troupe::v1::ChatMessage user_;
  std::vector<troupe::v1::ChatMessage> memory_;   // context for the model, not committed
  std::vector<troupe::v1::ChatMessage> exchange_; // assistant tool calls and tool results
  troupe::v1::ChatMessage reply_;
  troupe::v1::GenerateResult last_;               // the final model answer (model, finish)
  troupe::v1::Usage usage_;                       // summed over the turn's model calls
  uint32_t model_calls_ = 0;
  bool model_in_flight_ = false;
  std::vector<troupe::v1::ToolCall> calls_;       // the step's tool calls, in the model's order
  std::vector<std::optional<troupe::v1::ToolResult>> results_;
  troupe::v1::TurnResult result_;
  uint32_t event_seq_ = 0;
  uint32_t chunk_seq_ = 0;
  bool commit_done_ = false;
  std::optional<uint32_t> awaiting_;   // the await_events in force
  bool events_done_ = false;           // it was acknowledged
};

} // namespace troupe::session
