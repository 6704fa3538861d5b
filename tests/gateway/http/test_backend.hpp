#pragma once
/// In-process stand-ins for the gateway's two seams, for the HTTP tests: a
/// chat backend that records what it is asked and answers from a script
/// (chunks with delays, on a thread of its own, as the bus backend answers
/// from NATS threads), and an authenticator that reads "Bearer
/// <tenant>:<user>".
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "actors/gateway/authenticator.hpp"
#include "actors/gateway/chat_backend.hpp"

namespace troupe::test {

/// How the backend answers one turn.
struct turn_script {
  std::vector<troupe::v1::TurnChunk> chunks; // session_id/turn_id filled in when empty
  std::chrono::milliseconds delay{0};        // before each chunk and before the result
  std::optional<gateway::api_error> error;   // answered instead of the result
  bool never_finish = false;                 // runs until cancelled
  troupe::v1::TurnResult result;             // session_id/turn_id filled in when empty
};

/// A turn that answers `r` / refuses with `e` at once.
turn_script answers(troupe::v1::TurnResult r);
turn_script fails(gateway::api_error e);
/// A turn that sends `chunks`, then refuses with `e`.
turn_script fails_after(std::vector<troupe::v1::TurnChunk> chunks, gateway::api_error e);
/// A turn that sends `chunks`, then runs until cancelled.
turn_script hangs_after(std::vector<troupe::v1::TurnChunk> chunks);

troupe::v1::TurnChunk delta(std::string text);
troupe::v1::TurnChunk tool_call(std::string id, std::string name, std::string args);
troupe::v1::TurnChunk tool_result(std::string id, std::string name, std::string content);
/// A finished turn: reply `text` from "test-model", usage 3/5/8, finish "stop".
troupe::v1::TurnResult reply(std::string text);

class test_backend final : public gateway::chat_backend {
public:
  ~test_backend() override;

  /// The script of the next turn; without one a turn answers reply("hello").
  void script_turn(turn_script s);

  /// Session and model queries answer from these, on the caller's thread.
  troupe::v1::SessionList sessions;
  troupe::v1::MessageList messages;
  troupe::v1::ModelList models;
  std::optional<gateway::api_error> query_error; // every query answers this instead
  std::atomic<bool> hold_queries{false};         // queries answer only at destruction
  std::atomic<bool> throw_on_chat{false};
  std::atomic<bool> answer_inline{
      false}; // a turn answers reply("hi") inside chat(), on the caller's thread

  std::vector<gateway::turn_input> inputs() const;
  /// The last principal and query arguments seen by a session query.
  troupe::v1::Principal last_principal() const;
  troupe::v1::ListSessions last_list() const;
  troupe::v1::GetMessages last_messages() const;
  std::string last_session_id() const;

  /// Turns whose cancel_fn ran (each counted once).
  int cancelled() const { return cancelled_; }
  /// Turns that have delivered `done`.
  int finished() const { return finished_; }

  gateway::cancel_fn chat(gateway::turn_input in,
                          std::function<void(const troupe::v1::TurnChunk&)> on_chunk,
                          gateway::callback<troupe::v1::TurnResult> done) override;
  void list_sessions(const troupe::v1::Principal& who, troupe::v1::ListSessions q,
                     gateway::callback<troupe::v1::SessionList> done) override;
  void get_session(const troupe::v1::Principal& who, std::string session_id,
                   gateway::callback<troupe::v1::SessionInfo> done) override;
  void get_messages(const troupe::v1::Principal& who, troupe::v1::GetMessages q,
                    gateway::callback<troupe::v1::MessageList> done) override;
  void delete_session(const troupe::v1::Principal& who, std::string session_id,
                      gateway::callback<troupe::v1::SessionDeleted> done) override;
  void list_models(const troupe::v1::Principal& who,
                   gateway::callback<troupe::v1::ModelList> done) override;

private:
  struct turn_state {
    std::mutex mutex;
    std::condition_variable cv;
    bool cancelled = false;
  };

  /// Answers a query now, or holds it; false when it was answered with query_error or held.
  template <class T> bool refuse_or_hold(gateway::callback<T>& done);
  void note(const troupe::v1::Principal& who, std::string session_id);

  mutable std::mutex mutex_;
  std::deque<turn_script> scripts_;
  std::vector<gateway::turn_input> inputs_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<turn_state>> turns_running_;
  std::vector<std::function<void()>> held_;
  troupe::v1::Principal last_principal_;
  troupe::v1::ListSessions last_list_;
  troupe::v1::GetMessages last_messages_;
  std::string last_session_id_;
  std::atomic<int> cancelled_{0};
  std::atomic<int> finished_{0};
  int turns_ = 0;
};

/// "Bearer <tenant>:<user>" authenticates; an X-Tenant-ID naming another
/// tenant is 403 tenant_mismatch; anything else is 401 unauthenticated.
class test_authenticator final : public gateway::authenticator {
public:
  void authenticate(gateway::credentials c, gateway::callback<troupe::v1::Principal> done) override;
  std::atomic<int> calls{0};
};

} // namespace troupe::test
