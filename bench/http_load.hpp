#pragma once
/// Closed-loop HTTP/1.1 load for bench/gateway_http: `connections` keep-alive
/// connections on loopback, each sending one request, reading the whole
/// answer (Beast's parser), and sending the next, until `duration` passes.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::bench {

struct load_result {
  double requests_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  size_t failures = 0; // answers that were not 200, or broken connections
};

/// `requests`: full request bytes (keep-alive); connection i sends
/// requests[i % size], so each connection can carry its own session.
load_result run_load(uint16_t port, const std::vector<std::string>& requests, size_t connections,
                     size_t client_threads, std::chrono::milliseconds duration);

} // namespace troupe::bench
