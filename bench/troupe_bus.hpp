#pragma once
/// The Troupe side of bench/bus_rtt: actors talking through the bridge and
/// the request client over a real NATS connection, between two processes.
#include <cstddef>
#include <string>
#include <vector>

namespace troupe::bench {

/// A node-like process: a bridge serving `troupe.bench.svc.echo` (an actor
/// answering Ping with Pong) and `troupe.bench.svc.sink` (an actor counting
/// envelopes; `bench.troupe.count` answers the count). Runs until killed.
int run_troupe_echo(const std::string& url);

/// An actor's sequential request/reply round trips to the echo process
/// through its request client; each one's duration in µs.
std::vector<double> troupe_round_trips(const std::string& url, size_t n, size_t payload_bytes);

enum class publish_path {
  direct,       // the actor's bus::publisher, from the actor's own thread
  bridge_actor, // a publish_atom message to the bridge actor per envelope
};

/// An actor publishes `n` envelopes to the sink through `path`; messages per
/// second until the echo process has counted all of them.
double troupe_throughput(const std::string& url, size_t n, size_t payload_bytes,
                         publish_path path);

} // namespace troupe::bench
