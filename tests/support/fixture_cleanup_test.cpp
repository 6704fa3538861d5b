// The servers the fixtures start must not outlive a test process that dies
// without running a destructor (SIGKILL, a crash, a CTest timeout).
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "tests/support/child_process.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;

namespace {

const char* holder_env = "TROUPE_FIXTURE_HOLDER_OUT";

/// A process, told apart from a later one with the same pid by its start
/// time (field 22 of /proc/<pid>/stat).
struct proc_id {
  pid_t pid = -1;
  std::string start_time;
};

/// The fields of /proc/<pid>/stat after the command name; empty when gone.
std::vector<std::string> stat_fields(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return {};
  std::istringstream rest{text.substr(close + 1)};
  std::vector<std::string> fields;
  for (std::string f; rest >> f;)
    fields.push_back(f);
  return fields; // [0] state, [1] ppid, ... [19] start time
}

proc_id identify(pid_t pid) {
  auto f = stat_fields(pid);
  REQUIRE(f.size() > 19);
  return {pid, f[19]};
}

/// Gone: no such process, a zombie waiting to be reaped, or another process
/// that got the pid since.
bool gone(const proc_id& p) {
  auto f = stat_fields(p.pid);
  return f.size() <= 19 || f[0] == "Z" || f[0] == "X" || f[19] != p.start_time;
}

/// The processes whose parent is `parent` (the postmaster's children).
std::vector<proc_id> children_of(pid_t parent) {
  std::vector<proc_id> out;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc"}) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    pid_t pid = std::stoi(name);
    auto f = stat_fields(pid);
    if (f.size() > 19 && f[1] == std::to_string(parent))
      out.push_back({pid, f[19]});
  }
  return out;
}

} // namespace

// Run by the test below as a process of its own, never by CTest: starts the
// servers on a thread that ends at once (the children must survive that
// thread), writes their pids and directories, and waits to be killed.
TEST_CASE("fixture holder", "[.]") {
  const char* out = std::getenv(holder_env);
  if (out == nullptr)
    return;
  std::unique_ptr<nats_server> nats;
  std::unique_ptr<pg_server> pg;
  std::thread{[&] {
    nats = std::make_unique<nats_server>();
    pg = std::make_unique<pg_server>();
  }}.join();
  {
    std::ofstream f{std::string{out} + ".tmp"};
    f << nats->pid() << ' ' << pg->pid() << '\n' << nats->dir() << '\n' << pg->dir() << '\n';
  }
  std::filesystem::rename(std::string{out} + ".tmp", out);
  for (;;)
    ::pause();
}

TEST_CASE("a test process killed by SIGKILL leaves no nats-server and no PostgreSQL behind",
          "[support][integration]") {
  temp_dir tmp{"troupe-holder"};
  auto out = tmp.path() + "/pids";
  child_process holder{{std::filesystem::read_symlink("/proc/self/exe").string(), "fixture holder"},
                       tmp.path() + "/holder.log",
                       {std::string{holder_env} + "=" + out}};
  REQUIRE(wait_until(120s, [&] { return std::filesystem::exists(out) || !holder.running(); }));
  std::ifstream in{out};
  pid_t nats_pid = -1;
  pid_t pg_pid = -1;
  std::string nats_dir;
  std::string pg_dir;
  in >> nats_pid >> pg_pid >> nats_dir >> pg_dir;
  INFO("holder log: " << tmp.path() << "/holder.log");
  REQUIRE(nats_pid > 0);
  REQUIRE(pg_pid > 0);

  // Both outlived the thread that started them.
  std::vector<proc_id> servers{identify(nats_pid), identify(pg_pid)};
  auto backends = children_of(pg_pid);
  CHECK_FALSE(backends.empty()); // checkpointer, walwriter, ...
  servers.insert(servers.end(), backends.begin(), backends.end());
  for (const auto& p : servers)
    CHECK_FALSE(gone(p));

  holder.signal(SIGKILL);
  REQUIRE(holder.wait_for(10s) == 128 + SIGKILL);
  for (const auto& p : servers) {
    INFO("pid " << p.pid);
    CHECK(wait_until(30s, [&] { return gone(p); }));
  }
  std::error_code ec;
  std::filesystem::remove_all(nats_dir, ec);
  std::filesystem::remove_all(pg_dir, ec);
}
