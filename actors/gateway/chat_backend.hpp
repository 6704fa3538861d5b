#pragma once
/// The seam between the gateway's HTTP front and what serves chat behind it.
/// The HTTP layer (actors/gateway/http/) parses, authenticates, limits and
/// formats; a `chat_backend` runs turns and answers session queries. The
/// node's backend sends envelopes over the bus to session and inference
/// actors; HTTP tests use an in-process backend.
///
/// Threads: every call returns at once; callbacks may run on any thread,
/// at most one at a time per call, and `done` exactly once, last. Chunks of
/// one turn arrive in order.
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "troupe/v1/chat.pb.h"
#include "troupe/v1/inference.pb.h"
#include "troupe/v1/principal.pb.h"

namespace troupe::gateway {

/// A failure as the client sees it: HTTP status, stable snake_case code
/// (`session_not_found`, `model_unknown`, `backend_unavailable`, ...), text.
struct api_error {
  unsigned status = 500;
  std::string code;
  std::string message;
  unsigned retry_after_s = 0; // > 0: sent as Retry-After (a 429 worth retrying soon)
};

template <class T> using result = std::variant<T, api_error>;
template <class T> using callback = std::function<void(result<T>)>;

struct turn_input {
  troupe::v1::Principal principal; // who asks: set by the authenticator, never by the client
  std::string session_id;          // empty: create a new session (unless session_key is set)
  std::string session_key;         // OpenAI route: the client's own name for a session (the
                                   // `user` field); finds or creates that session
  std::string message;             // the user's text
  std::string model;               // model id or role alias; empty: "default"
  std::vector<troupe::v1::ChatMessage> extra_messages; // OpenAI route: client's system messages
  bool stream = false;             // true: on_chunk gets deltas, tool calls and results
  std::string idempotency_key;     // the client's Idempotency-Key (checked); empty: none
};

/// Cancels a running turn (the client went away). Idempotent; a no-op after done.
using cancel_fn = std::function<void()>;

class chat_backend {
public:
  virtual ~chat_backend() = default;

  /// Runs one turn. `done` gets the TurnResult only once the turn's messages
  /// are committed; with an idempotency key that an earlier turn of the same
  /// caller used, the earlier turn's answer (TurnResult.replayed). The session id of a new session is in the result and in
  /// every chunk's turn (TurnResult.session_id).
  virtual cancel_fn chat(turn_input in, std::function<void(const troupe::v1::TurnChunk&)> on_chunk,
                         callback<troupe::v1::TurnResult> done) = 0;

  virtual void list_sessions(const troupe::v1::Principal& who, troupe::v1::ListSessions q,
                             callback<troupe::v1::SessionList> done) = 0;
  virtual void get_session(const troupe::v1::Principal& who, std::string session_id,
                           callback<troupe::v1::SessionInfo> done) = 0;
  virtual void get_messages(const troupe::v1::Principal& who, troupe::v1::GetMessages q,
                            callback<troupe::v1::MessageList> done) = 0;
  virtual void delete_session(const troupe::v1::Principal& who, std::string session_id,
                              callback<troupe::v1::SessionDeleted> done) = 0;
  virtual void list_models(const troupe::v1::Principal& who,
                           callback<troupe::v1::ModelList> done) = 0;
};

using chat_backend_ptr = std::shared_ptr<chat_backend>;

} // namespace troupe::gateway
