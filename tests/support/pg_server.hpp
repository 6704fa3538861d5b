#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/child_process.hpp"

namespace troupe::test {

/// A real PostgreSQL 15 cluster in a temporary directory on a free loopback
/// port (fsync off: tests only), retried on a new port when the one picked
/// was taken meanwhile. The postmaster is a child of the test process (no
/// pg_ctl, which would detach it): it gets SIGQUIT (immediate shutdown) when
/// the test process dies, and its own children exit with it. As root,
/// initdb and postgres run as the `postgres` user. Stopped and removed on
/// destruction.
class pg_server {
public:
  pg_server();
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  /// Creates a fresh database and returns its connection URL.
  std::string create_database(const std::string& name);
  uint16_t port() const noexcept { return port_; }
  /// The postmaster's process id while it runs, else -1.
  pid_t pid() const noexcept { return postmaster_ ? postmaster_->pid() : -1; }
  /// Its temporary directory (logs, data).
  const std::string& dir() const noexcept { return dir_; }
  void stop();
  /// Starts it again on the same port and data, after stop() (a restart).
  void start();

private:
  /// One attempt on `port_`; false when the port was taken.
  bool launch();
  bool accepting() const;

  std::string owner_; // the account that runs the server; empty: this one
  uint16_t port_ = 0;
  std::string dir_;
  std::unique_ptr<child_process> postmaster_;
};

/// One cluster for the whole test process (initdb costs about a second).
pg_server& shared_pg_server();

} // namespace troupe::test
