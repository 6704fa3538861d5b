#pragma once
#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace troupe::test {

/// A real child process started with posix_spawn; killed (SIGKILL) and reaped
/// on destruction unless it already exited. stdout/stderr go to `log_file`
/// when given (appended), else are inherited.
class child_process {
public:
  child_process(std::vector<std::string> argv, std::string log_file = {},
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
