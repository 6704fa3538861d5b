#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/child_process.hpp"

namespace troupe::test {

/// A real `nats-server` with JetStream on a loopback port it picks itself
/// (`-p -1`, read back from its ports file) and a private store directory,
/// removed on destruction. `stop()` and `start()` keep the port, so
/// reconnect tests can kill and revive "the same" server.
class nats_server {
public:
  nats_server();
  ~nats_server();
  void start();
  void stop(); // SIGKILL, like a crash
  uint16_t port() const noexcept { return port_; }
  std::string url() const;
  /// The server's process id while it runs, else -1.
  pid_t pid() const noexcept { return proc_ ? proc_->pid() : -1; }
  /// Its temporary directory (logs, data).
  const std::string& dir() const noexcept { return dir_; }

private:
  /// One attempt on `port_` (0: any); false when the port was taken.
  bool launch();

  uint16_t port_ = 0;
  std::string dir_;
  std::unique_ptr<child_process> proc_;
};

} // namespace troupe::test
