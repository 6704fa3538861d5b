#pragma once
/// The baseline side of bench/bus_rtt: plain nats.c request/reply and
/// pub/sub between two processes, with the same connection options the node
/// uses (SendAsap on).
#include <cstddef>
#include <string>
#include <vector>

namespace troupe::bench {

/// Serves `bench.raw.echo` (echo the bytes back) and counts `bench.raw.sink`
/// messages, answering `bench.raw.count` with the count. Runs until killed.
int run_raw_echo(const std::string& url);

/// Sequential request/reply round trips; returns each one's duration in µs.
std::vector<double> raw_round_trips(const std::string& url, size_t n, size_t payload_bytes);

/// Publishes `n` messages to `bench.raw.sink` as fast as the client allows
/// and returns messages per second, measured until the echo process has
/// counted all of them.
double raw_throughput(const std::string& url, size_t n, size_t payload_bytes);

} // namespace troupe::bench
