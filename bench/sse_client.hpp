#pragma once
/// The streaming client of bench/gateway_http: `clients` keep-alive
/// connections on loopback, each sending its request `streams` times one
/// after the other and reading each answer as an OpenAI chat-completion
/// stream (SSE over chunked HTTP/1.1). A token is an event whose
/// choices[0].delta.content is a non-empty string; it is timestamped when
/// the read that brought its last byte returns, before any parsing.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::bench {

struct stream_samples {
  std::vector<double> ttft_us; ///< request written → first token, one per stream
  std::vector<double> gap_us;  ///< token → next token, tokens − 1 per stream
  /// When each stream's request was written, in the order ttft_us has them.
  std::vector<std::chrono::steady_clock::time_point> sent;
  size_t failures = 0; ///< not 200, broken, or not `tokens` tokens
};

/// `requests`: full request bytes (keep-alive); client i sends requests[i % size].
stream_samples run_streams(uint16_t port, const std::vector<std::string>& requests, size_t clients,
                           size_t streams, size_t tokens);

} // namespace troupe::bench
