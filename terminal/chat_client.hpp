#pragma once
/// The gateway's native chat API over libcurl, as `troupe chat` uses it:
/// one streamed turn (POST /v1/chat/stream, Server-Sent Events), the
/// caller's sessions and a session's messages. Errors come back as the
/// gateway's stable codes, or `unreachable` when no gateway answered.
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::terminal {

struct gateway_error {
  std::string code;
  std::string message;
};

struct turn_outcome {
  std::string session_id; // the session the turn ran on (new when none was given)
  std::optional<gateway_error> error;
};

struct json_answer {
  nlohmann::json body;
  std::optional<gateway_error> error;
};

struct stream_handlers {
  std::function<void(std::string_view text)> on_text;
  std::function<void(const nlohmann::json& event, std::string_view type)> on_tool; // tool_call, tool_result
};

class chat_client {
public:
  /// `base_url`: the gateway, e.g. http://127.0.0.1:8080; `api_key` may be
  /// empty (a gateway in dev mode needs none).
  chat_client(std::string base_url, std::string api_key);

  /// Runs one turn and streams its text as it comes. `cancel` set from
  /// another thread (a signal) closes the stream: the gateway cancels the turn.
  turn_outcome send(const std::string& session_id, const std::string& model,
                    const std::string& message, const stream_handlers& on,
                    const std::atomic<bool>& cancel) const;

  json_answer sessions() const;
  json_answer messages(const std::string& session_id) const;

  const std::string& base_url() const noexcept { return base_; }

private:
  json_answer get(const std::string& path) const;

  std::string base_;
  std::string key_;
};

} // namespace troupe::terminal
