#pragma once
/// Runs one turn through the backend for a chat route and answers it: one
/// JSON body, or a stream whose headers go out with the first chunk (or the
/// first heartbeat), so a turn refused at once still gets a proper status.
/// While it waits it sends `: ping` every heartbeat_interval, and it calls
/// the backend's cancel_fn when the client hangs up (read EOF or a failed
/// write), when turn_timeout passes (504 turn_timeout) and on stop().
#include <nlohmann/json.hpp>
#include <string>

#include "actors/gateway/http/exchange.hpp"

namespace troupe::gateway::http {

/// How a route renders a turn: native JSON and SSE events, or OpenAI's
/// completion and chunks. One per request; may keep state between calls.
class turn_view {
public:
  virtual ~turn_view() = default;
  /// Stream: the frames for one chunk; empty for none.
  virtual std::string chunk(const troupe::v1::TurnChunk& c) = 0;
  /// Stream: the frames that end a finished turn.
  virtual std::string done(const troupe::v1::TurnResult& r) = 0;
  /// Stream: the frames that end a failed turn once the stream is open.
  virtual std::string failed(const http_error& e) = 0;
  /// Not streamed: the 200 body.
  virtual nlohmann::json answer(const troupe::v1::TurnResult& r) = 0;
};

net::awaitable<void> run_turn(exchange& x, turn_input in, turn_view& view);

} // namespace troupe::gateway::http
