// bench/bus_rtt: actor-to-actor request/reply and one-way throughput between
// two node processes through the bridge, against raw nats.c between two
// plain processes — same run, same nats-server, same payload size.
//
//   bus_rtt [--n-rtt N] [--n-msgs N] [--bytes B]
// Prints both figures and the ratios (targets: RTT ≤ 1.3×, throughput ≥ 0.7×).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <thread>
#include <unistd.h>

#include "bench/raw_nats.hpp"
#include "bench/troupe_bus.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/nats_server.hpp"

namespace {

struct summary {
  double p50, p99, mean;
};

summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1))]; };
  return {at(0.5), at(0.99), std::accumulate(v.begin(), v.end(), 0.0) / v.size()};
}

std::string self_exe() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return std::string(buf, n > 0 ? n : 0);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Troupe bus round trip and throughput against raw nats.c"};
  size_t n_rtt = 5000, n_msgs = 200000, bytes = 256;
  std::string serve_mode, serve_url;
  app.add_option("--n-rtt", n_rtt, "Sequential round trips per side");
  app.add_option("--n-msgs", n_msgs, "One-way messages per side");
  app.add_option("--bytes", bytes, "Payload bytes");
  app.add_option("--serve", serve_mode, "Internal: run the echo process (raw|troupe)");
  app.add_option("--url", serve_url, "Internal: NATS URL for --serve");
  CLI11_PARSE(app, argc, argv);

  try {
    if (serve_mode == "raw")
      return troupe::bench::run_raw_echo(serve_url);
    if (serve_mode == "troupe")
      return troupe::bench::run_troupe_echo(serve_url);

    troupe::test::nats_server nats;
    auto url = nats.url();
    auto exe = self_exe();
    troupe::test::child_process raw_echo{{exe, "--serve", "raw", "--url", url}, "/dev/null"};
    troupe::test::child_process troupe_echo{{exe, "--serve", "troupe", "--url", url}, "/dev/null"};
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    // Warm up both paths (connections, caches, the scheduler), then measure.
    troupe::bench::raw_round_trips(url, 200, bytes);
    troupe::bench::troupe_round_trips(url, 200, bytes);
    auto raw = summarize(troupe::bench::raw_round_trips(url, n_rtt, bytes));
    auto trp = summarize(troupe::bench::troupe_round_trips(url, n_rtt, bytes));
    auto raw_tp = troupe::bench::raw_throughput(url, n_msgs, bytes);
    auto trp_tp = troupe::bench::troupe_throughput(url, n_msgs, bytes,
                                                   troupe::bench::publish_path::direct);
    auto via_bridge = troupe::bench::troupe_throughput(url, n_msgs, bytes,
                                                       troupe::bench::publish_path::bridge_actor);

    std::printf("bus_rtt: %zu-byte payloads, %zu round trips, %zu one-way messages per side\n",
                bytes, n_rtt, n_msgs);
    std::printf("%-34s %10s %10s %10s\n", "round trip (us)", "p50", "p99", "mean");
    std::printf("%-34s %10.1f %10.1f %10.1f\n", "raw nats.c request/reply", raw.p50, raw.p99,
                raw.mean);
    std::printf("%-34s %10.1f %10.1f %10.1f\n", "troupe actor→bridge→actor", trp.p50, trp.p99,
                trp.mean);
    std::printf("RTT ratio (p50, troupe/raw): %.2f  (target ≤ 1.3)\n", trp.p50 / raw.p50);
    std::printf("RTT ratio (mean, troupe/raw): %.2f\n", trp.mean / raw.mean);
    std::printf("%-34s %12.0f msg/s\n", "raw nats.c publish", raw_tp);
    std::printf("%-34s %12.0f msg/s\n", "troupe actor publisher", trp_tp);
    std::printf("%-34s %12.0f msg/s\n", "troupe via bridge actor mailbox", via_bridge);
    std::printf("throughput ratio (troupe/raw): %.2f  (target ≥ 0.7)\n", trp_tp / raw_tp);
    std::printf("throughput ratio (bridge mailbox/raw): %.2f\n", via_bridge / raw_tp);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bus_rtt: %s\n", e.what());
    return 1;
  }
}
