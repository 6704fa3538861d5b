#include "bench/gateway_stream.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "bench/raw_nats.hpp"
#include "bench/sse_client.hpp"
#include "bench/sse_provider.hpp"
#include "tests/nodes/node_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace troupe::bench {

namespace {

using namespace std::chrono_literals;

constexpr size_t unmeasured_streams = 10; // per client and path, before measuring
constexpr size_t rtt_warmup = 200;
constexpr size_t rtt_measured = 2000;

struct quantiles {
  double p50 = 0, p99 = 0;
};

quantiles of(std::vector<double> v) {
  if (v.empty())
    return {};
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))]; };
  return {at(0.5), at(0.99)};
}

std::string stream_request(const std::string& model, const std::string& session_id) {
  nlohmann::json body{
      {"model", model}, {"messages", {{{"role", "user"}, {"content", "ping"}}}}, {"stream", true}};
  auto text = body.dump();
  std::string session = session_id.empty() ? "" : "X-Session-ID: " + session_id + "\r\n";
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer bench\r\n"
         + session + "Content-Type: application/json\r\nContent-Length: "
         + std::to_string(text.size()) + "\r\n\r\n" + text;
}

/// A time to first token cut where the provider has read the request.
struct ttft_legs {
  quantiles to_provider, first_token_back;
};

struct path_figures {
  quantiles ttft, gap;
  size_t streams = 0, failures = 0;
  std::optional<ttft_legs> legs;
};

/// Only one client's streams pair with the provider's requests one to one.
std::optional<ttft_legs>
legs_of(const stream_samples& s,
        const std::vector<std::chrono::steady_clock::time_point>& arrived) {
  if (arrived.size() != s.sent.size())
    return std::nullopt;
  std::vector<double> there, back;
  for (size_t i = 0; i < arrived.size(); ++i) {
    there.push_back(std::chrono::duration<double, std::micro>(arrived[i] - s.sent[i]).count());
    back.push_back(s.ttft_us[i] - there.back());
  }
  return ttft_legs{of(there), of(back)};
}

path_figures measure(uint16_t port, const std::vector<std::string>& requests, size_t clients,
                     const stream_config& cfg, sse_provider& provider) {
  run_streams(port, requests, clients, unmeasured_streams, cfg.tokens);
  provider.take_request_times();
  auto s = run_streams(port, requests, clients, cfg.streams, cfg.tokens);
  auto arrived = provider.take_request_times();
  path_figures f{of(s.ttft_us), of(s.gap_us), s.ttft_us.size(), s.failures, std::nullopt};
  if (clients == 1)
    f.legs = legs_of(s, arrived);
  return f;
}

void print_quantiles(size_t clients, const char* name, quantiles ttft, quantiles gap,
                     int decimals = 1) {
  std::printf("%-7zu %-28s %9.*f %9.*f %9.*f %9.*f", clients, name, decimals, ttft.p50, decimals,
              ttft.p99, decimals, gap.p50, decimals, gap.p99);
}

void print_path(size_t clients, const char* name, const path_figures& f) {
  print_quantiles(clients, name, f.ttft, f.gap);
  std::printf(" %8zu %5zu\n", f.streams, f.failures);
  if (f.legs)
    std::printf("%-7zu   TTFT = request reaches the provider (p50 %.1f, p99 %.1f) + first token "
                "back (p50 %.1f, p99 %.1f)\n",
                clients, f.legs->to_provider.p50, f.legs->to_provider.p99,
                f.legs->first_token_back.p50, f.legs->first_token_back.p99);
}

} // namespace

bool register_provider(const std::string& database_url, const std::string& base_url) {
  test::temp_dir dir{"troupe-bench-provider"};
  auto log = dir.path() + "/cli.log";
  for (auto args : std::vector<std::vector<std::string>>{
           {"migrate", "--database-url", database_url},
           {"provider", "add", bench_provider, "--base-url", base_url, "--database-url",
            database_url},
           {"role", "set", "default", "troupe-dev", "--database-url", database_url}}) {
    auto r = test::run_troupe(args, log);
    if (r.code != 0) {
      std::fprintf(stderr, "troupe %s: exit %d\n%s\n", args[0].c_str(), r.code, r.output.c_str());
      return false;
    }
  }
  return true;
}

rtt_figure raw_nats_rtt(const std::string& self_exe, const std::string& nats_url) {
  test::child_process echo{{self_exe, "--raw-echo", nats_url}, "/dev/null"};
  auto answers = [&] {
    try {
      raw_round_trips(nats_url, 1, 256);
      return true;
    } catch (const std::runtime_error&) {
      return false; // no responder yet
    }
  };
  if (!test::wait_until(10s, answers))
    throw std::runtime_error("the raw nats.c echo process did not answer");
  raw_round_trips(nats_url, rtt_warmup, 256);
  auto q = of(raw_round_trips(nats_url, rtt_measured, 256));
  return {q.p50, q.p99, rtt_measured};
}

bool run_streaming(const stream_config& cfg, uint16_t gateway_port,
                   const std::vector<std::string>& session_ids, sse_provider& provider,
                   const rtt_figure& rtt) {
  std::vector<std::string> through, direct{stream_request(bench_model, "")};
  for (const auto& id : session_ids)
    through.push_back(stream_request(std::string{bench_provider} + "/" + bench_model, id));
  // The node loads the provider registry shortly after it is ready: the
  // first stream through it may find no provider yet.
  if (!test::wait_until(20s, [&] {
        return run_streams(gateway_port, through, 1, 1, cfg.tokens).failures == 0;
      })) {
    std::fprintf(stderr, "no stream came through the node\n");
    return false;
  }
  std::printf("\nstreaming: %zu tokens per stream, %.1f ms apart, %zu streams per client after "
              "%zu unmeasured; a session per client\n",
              cfg.tokens, cfg.gap_ms, cfg.streams, unmeasured_streams);
  std::printf("raw nats.c request/reply RTT: p50 %.1f us, p99 %.1f us (%zu round trips)\n",
              rtt.p50_us, rtt.p99_us, rtt.round_trips);
  std::printf("%-7s %-28s %9s %9s %9s %9s %8s %5s\n", "clients", "path", "TTFT p50", "TTFT p99",
              "gap p50", "gap p99", "streams", "fail");
  bool ok = true;
  for (auto n : cfg.clients) {
    auto d = measure(provider.port(), direct, n, cfg, provider);
    auto t = measure(gateway_port, through, n, cfg, provider);
    print_path(n, "straight from the provider", d);
    print_path(n, "through troupe", t);
    // Differences of the two paths' quantiles: the streams are not paired.
    quantiles ttft{t.ttft.p50 - d.ttft.p50, t.ttft.p99 - d.ttft.p99};
    quantiles gap{t.gap.p50 - d.gap.p50, t.gap.p99 - d.gap.p99};
    print_quantiles(n, "added (us)", ttft, gap);
    std::printf("\n");
    auto in_rtts = [&](quantiles q) { return quantiles{q.p50 / rtt.p50_us, q.p99 / rtt.p50_us}; };
    print_quantiles(n, "added (raw RTT p50s)", in_rtts(ttft), in_rtts(gap), 2);
    std::printf("\n");
    std::printf("%-7zu added TTFT p50 %.2f RTTs (target ≤ 5: %s), added gap p99 %.2f RTTs "
                "(target ≤ 2: %s)\n",
                n, in_rtts(ttft).p50, ttft.p50 <= 5 * rtt.p50_us ? "met" : "not met",
                in_rtts(gap).p99, gap.p99 <= 2 * rtt.p50_us ? "met" : "not met");
    ok = ok && d.streams > 0 && t.streams > 0;
  }
  return ok;
}

} // namespace troupe::bench
