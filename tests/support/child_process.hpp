#pragma once
#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace troupe::test {

struct child_options {
  /// stdout and stderr go here (appended) when given, else are inherited.
  std::string log_file;
  /// NAME=value entries added to this process's environment.
  std::vector<std::string> extra_env;
  /// When this process runs as root: the account the child runs as.
  std::string user;
  /// What the child gets when this process dies, even by SIGKILL
  /// (PR_SET_PDEATHSIG): SIGKILL, or a signal the child shuts down on.
  int death_signal = SIGKILL;
};

/// A real child process in a process group of its own. It cannot outlive
/// the test process: it gets `death_signal` when the test process dies, and
/// the destructor kills its whole group (SIGKILL) and reaps it unless it
/// already exited. Only the direct child gets the death signal: a program
/// that forks must end its own children when it ends (nats-server and node
/// processes do not fork; PostgreSQL's children exit when the postmaster
/// dies).
class child_process {
public:
  child_process(std::vector<std::string> argv, child_options opts);
  explicit child_process(std::vector<std::string> argv, std::string log_file = {},
                         std::vector<std::string> extra_env = {});
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  child_process(child_process&& other) noexcept;

  pid_t pid() const noexcept { return pid_; }
  void signal(int sig);
  /// Waits for exit; returns the exit status (or 128+signal), or -1 on timeout.
  int wait_for(std::chrono::milliseconds timeout);
  bool running();

private:
  pid_t pid_ = -1;
  int status_ = -1;
};

/// Polls `probe` until it returns true or `timeout` passes.
bool wait_until(std::chrono::milliseconds timeout, const auto& probe) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (probe())
      return true;
    struct timespec ts{0, 20'000'000};
    nanosleep(&ts, nullptr);
  }
  return probe();
}

/// True when something accepts TCP connections on 127.0.0.1:port.
bool port_open(uint16_t port);

} // namespace troupe::test
