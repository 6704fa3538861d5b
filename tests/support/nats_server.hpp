#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/child_process.hpp"

namespace troupe::test {

/// A real `nats-server` with JetStream on a free loopback port and a private
/// store directory, removed on destruction. `stop()` and `start()` keep the
/// port, so reconnect tests can kill and revive "the same" server.
class nats_server {
public:
  nats_server();
  ~nats_server();
  void start();
  void stop(); // SIGKILL, like a crash
  uint16_t port() const noexcept { return port_; }
  std::string url() const;

private:
  uint16_t port_;
  std::string dir_;
  std::unique_ptr<child_process> proc_;
};

} // namespace troupe::test
