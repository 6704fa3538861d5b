#pragma once
#include <cstdint>
#include <string>

namespace troupe::test {

/// A real PostgreSQL 15 cluster in a temporary directory on a free loopback
/// port (fsync off: tests only). As root, initdb and postgres run as the
/// `postgres` user. Stopped and removed on destruction.
class pg_server {
public:
  pg_server();
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  /// Creates a fresh database and returns its connection URL.
  std::string create_database(const std::string& name);
  uint16_t port() const noexcept { return port_; }
  void stop();

private:
  std::string run_as_owner(const std::string& cmd) const;
  uint16_t port_;
  std::string dir_;
  bool running_ = false;
};

/// One cluster for the whole test process (initdb costs about a second).
pg_server& shared_pg_server();

} // namespace troupe::test
