// bench/failover: what a session node's death costs the clients, and what a
// second session node adds. Real processes: a nats-server, a PostgreSQL, a
// gateway node (gateway + inference, the troupe-dev model) and one or two
// session nodes (heartbeat every 200 ms, as the test fixture runs them).
// `--clients` clients each chat back to back on a session of their own.
//
//  1. One session node: turns/s over --seconds.
//  2. Two session nodes (a fresh cluster, the sessions placed by load):
//     turns/s over --seconds, then SIGKILL of the node hosting most of the
//     sessions and --seconds more. The figure is the longest turn a client
//     saw across the kill, in heartbeat intervals (target <= 2), and every
//     turn's outcome (a failure is counted and printed, never hidden).
//
//   failover [--clients 16] [--seconds 5] [--runs 1]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unistd.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/nodes/node_fixture.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"

namespace {

using namespace troupe;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr auto heartbeat = 200ms; // tests/nodes/node_fixture.hpp writes it

struct turn_record {
  clock_type::time_point started, ended;
  long status;
};

struct cluster {
  test::shared_key key;
  test::nats_server nats;
  test::pg_server pg;
  std::string db = pg.create_database("failover");
  std::unique_ptr<test::node_process> front;
  std::vector<std::unique_ptr<test::node_process>> hosts;

  explicit cluster(int session_nodes) {
    front = std::make_unique<test::node_process>(test::node_options{
        "front", R"(["gateway", "inference"])", nats.url(), db, {}, "dev", key.path});
    for (int i = 0; i < session_nodes; ++i)
      hosts.push_back(std::make_unique<test::node_process>(
          test::node_options{"host-" + std::to_string(i), R"(["session"])", nats.url(), db, {},
                             "dev", key.path}));
  }
  /// Every node ready; otherwise the log tail of the one that is not.
  bool ready() {
    if (!front->wait_ready())
      return not_ready(*front);
    for (auto& h : hosts)
      if (!h->wait_ready() || !test::wait_until(10s, [&] { return h->ready_status() == 200; }))
        return not_ready(*h);
    // Placement needs the gateway to have heard every session node say it
    // is ready: its next heartbeat after /ready, within an interval.
    std::this_thread::sleep_for(2 * heartbeat);
    return true;
  }
  static bool not_ready(const test::node_process& n) {
    auto log = n.log();
    std::fprintf(stderr, "node not ready; its log ends:\n%s\n",
                 log.substr(log.size() > 2000 ? log.size() - 2000 : 0).c_str());
    return false;
  }
  int hosted(size_t i) const {
    auto text = test::http_get(hosts[i]->admin("/metrics")).body;
    auto at = text.find("\ntroupe_sessions_active ");
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + 24));
  }
};

/// Clients chatting back to back, each on a session of its own, recording
/// every turn until stopped.
class clients {
public:
  clients(const test::node_process& front, size_t n) {
    for (size_t i = 0; i < n; ++i)
      threads_.emplace_back([this, &front] {
        std::string sid;
        while (!stop_) {
          json body{{"message", "load"}};
          if (!sid.empty())
            body["session_id"] = sid;
          auto started = clock_type::now();
          auto r = test::post(front, "/v1/chat", body, 60'000);
          auto ended = clock_type::now();
          if (r.status == 200 && sid.empty())
            sid = json::parse(r.body)["session_id"];
          std::lock_guard lk{m_};
          turns_.push_back({started, ended, r.status});
          if (r.status != 200 && errors_.size() < 5)
            errors_.push_back(r.body);
        }
      });
  }
  ~clients() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  size_t answered() const {
    std::lock_guard lk{m_};
    return std::count_if(turns_.begin(), turns_.end(),
                         [](const turn_record& t) { return t.status == 200; });
  }
  std::vector<turn_record> turns() const {
    std::lock_guard lk{m_};
    return turns_;
  }
  std::vector<std::string> errors() const {
    std::lock_guard lk{m_};
    return errors_;
  }

private:
  std::atomic<bool> stop_{false};
  mutable std::mutex m_;
  std::vector<turn_record> turns_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
};

/// CPU seconds a process has used (utime + stime of /proc/<pid>/stat).
double cpu_seconds(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields{text.substr(close + 2)};
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14)
      utime = std::stoull(f);
    if (i == 15) {
      stime = std::stoull(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// Where the CPU of a steady phase went: the gateway node, the session
/// nodes, nats-server (PostgreSQL and the clients are the rest).
struct cpu_split {
  double front = 0, hosts = 0, nats = 0;
  static cpu_split of(const cluster& c) {
    cpu_split s{cpu_seconds(c.front->process().pid()), 0, cpu_seconds(c.nats.pid())};
    for (const auto& h : c.hosts)
      s.hosts += cpu_seconds(h->process().pid());
    return s;
  }
  void print(const char* what, const cpu_split& before, double seconds) const {
    std::printf("  CPU %s: gateway node %.0f%%, session node(s) %.0f%%, nats-server %.0f%% "
                "(of one core)\n",
                what, 100 * (front - before.front) / seconds, 100 * (hosts - before.hosts) / seconds,
                100 * (nats - before.nats) / seconds);
  }
};

double ms(clock_type::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/// Turns/s of those that ended within [from, to).
double rate(const std::vector<turn_record>& turns, clock_type::time_point from,
            clock_type::time_point to) {
  auto n = std::count_if(turns.begin(), turns.end(), [&](const turn_record& t) {
    return t.status == 200 && t.ended >= from && t.ended < to;
  });
  return static_cast<double>(n) / std::chrono::duration<double>(to - from).count();
}

/// Steady state: warmed up until every client has a session, then measured.
std::optional<double> steady_rate(const cluster& c, clients& load, size_t n, double seconds,
                                  const char* what) {
  if (!test::wait_until(30s, [&] { return load.answered() >= 2 * n; }))
    return std::nullopt;
  auto from = clock_type::now();
  auto cpu = cpu_split::of(c);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  auto to = clock_type::now();
  cpu_split::of(c).print(what, cpu, std::chrono::duration<double>(to - from).count());
  return rate(load.turns(), from, to);
}

int run(size_t n, double seconds) {
  double one = 0;
  {
    cluster c{1};
    if (!c.ready()) {
      return 1;
    }
    clients load{*c.front, n};
    auto r = steady_rate(c, load, n, seconds, "one session node");
    if (!r) {
      std::fprintf(stderr, "no turns with one session node\n");
      return 1;
    }
    one = *r;
  }
  cluster c{2};
  if (!c.ready()) {
    return 1;
  }
  clients load{*c.front, n};
  auto two = steady_rate(c, load, n, seconds, "two session nodes");
  if (!two) {
    std::fprintf(stderr, "no turns with two session nodes\n");
    return 1;
  }
  int a = c.hosted(0), b = c.hosted(1);
  size_t victim = a >= b ? 0 : 1;
  auto kill_at = clock_type::now();
  c.hosts[victim]->process().signal(SIGKILL);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  load.stop();

  auto turns = load.turns();
  double longest = 0;
  size_t across = 0, failed_after = 0, failed = 0;
  for (const auto& t : turns) {
    failed += t.status != 200;
    if (t.ended < kill_at)
      continue;
    failed_after += t.status != 200;
    if (t.started <= kill_at + 1s) { // in flight at the kill, or sent just after
      ++across;
      longest = std::max(longest, ms(t.ended - t.started));
    }
  }
  std::printf("clients %zu, heartbeat %lld ms\n", n, static_cast<long long>(heartbeat.count()));
  std::printf("turns/s, one session node   %8.0f\n", one);
  std::printf("turns/s, two session nodes  %8.0f   ratio %.2f\n", *two, *two / one);
  std::printf("sessions before the kill    %d / %d, killed host-%zu\n", a, b, victim);
  std::printf("turns/s after the kill      %8.0f\n", rate(turns, kill_at + 1s, clock_type::now()));
  std::printf("longest turn across the kill %7.0f ms = %.2f heartbeat intervals (target <= 2), "
              "over %zu turns\n",
              longest, longest / static_cast<double>(heartbeat.count()), across);
  std::printf("failed turns: %zu in all, %zu after the kill\n", failed, failed_after);
  for (const auto& e : load.errors())
    std::printf("  failure: %s\n", e.c_str());
  return failed_after == 0 ? 0 : 2;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"failover: a session node's death, as clients see it"};
  size_t n = 16;
  double seconds = 5;
  int runs = 1;
  app.add_option("--clients", n, "clients chatting back to back")->check(CLI::Range(1, 256));
  app.add_option("--seconds", seconds, "length of each measured phase")->check(CLI::Range(1, 600));
  app.add_option("--runs", runs, "repetitions")->check(CLI::Range(1, 20));
  CLI11_PARSE(app, argc, argv);
  int rc = 0;
  for (int i = 0; i < runs; ++i) {
    std::printf("--- run %d\n", i + 1);
    std::fflush(stdout);
    rc = std::max(rc, run(n, seconds));
  }
  return rc;
}
