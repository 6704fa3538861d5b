#pragma once
/// The model provider of bench/gateway_http's streaming run: the least an
/// OpenAI-compatible server does to stream a completion. Every
/// POST /v1/chat/completions is answered with `tokens` chat.completion.chunk
/// events carrying one content delta each, the first at once and each next
/// one `gap` later, then a finish chunk, a usage chunk and `data: [DONE]`;
/// each event is written and flushed as its own HTTP chunk. The request body
/// is not read: every answer is the same stream, whatever was asked.
/// One I/O thread on 127.0.0.1, any free port, keep-alive, TCP_NODELAY.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace troupe::bench {

class sse_provider {
public:
  sse_provider(size_t tokens, std::chrono::microseconds gap);
  ~sse_provider();
  sse_provider(const sse_provider&) = delete;
  sse_provider& operator=(const sse_provider&) = delete;

  uint16_t port() const;
  /// "http://127.0.0.1:<port>/v1"
  std::string base_url() const;

  /// When each completion request since the last call was read whole, in
  /// order: with one client streaming at a time, stream i's request.
  std::vector<std::chrono::steady_clock::time_point> take_request_times();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::bench
