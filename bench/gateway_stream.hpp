#pragma once
/// The streaming run of bench/gateway_http: the same OpenAI streaming client
/// against Troupe's POST /v1/chat/completions (stream: true; the node's
/// inference streams from bench::sse_provider) and straight against that
/// provider, in the same run; Troupe's added time to first token and
/// inter-token gap, printed in raw nats.c request/reply round trips
/// measured in the same run too.
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::bench {

class sse_provider;

struct stream_config {
  size_t tokens = 32;
  double gap_ms = 2;
  size_t streams = 200; ///< measured streams per client, one after the other
  std::vector<size_t> clients{1};
};

/// The provider name the streaming run registers, and the model it asks for.
inline constexpr const char* bench_provider = "bench";
inline constexpr const char* bench_model = "bench-model";

/// Prepares a database before its node starts: migrated, `bench_provider`
/// registered at `base_url` (no key: it is on this machine), and the
/// `default` role kept on the built-in dev model, as it is while no
/// provider exists, so full turns are unchanged. False (with the command's
/// output on stderr) when a command fails.
bool register_provider(const std::string& database_url, const std::string& base_url);

struct rtt_figure {
  double p50_us = 0;
  double p99_us = 0;
  size_t round_trips = 0;
};

/// Sequential 256-byte nats.c request/reply round trips against a responder
/// in a child process (`self_exe --raw-echo <url>`), as bench/bus_rtt
/// measures its raw side.
rtt_figure raw_nats_rtt(const std::string& self_exe, const std::string& nats_url);

/// Runs and prints the streaming table. `session_ids[i]`: client i's
/// session on the node (a chat client keeps one); `provider` serves the
/// node's streams and the direct ones. With one client, each path's time to
/// first token is also split at the moment the provider has the request.
/// Returns false when a path answered no stream at all.
bool run_streaming(const stream_config& cfg, uint16_t gateway_port,
                   const std::vector<std::string>& session_ids, sse_provider& provider,
                   const rtt_figure& rtt);

} // namespace troupe::bench
