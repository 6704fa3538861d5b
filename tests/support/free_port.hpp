#pragma once
#include <cstdint>

namespace troupe::test {

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read,
/// close). Anyone may take it before the caller binds it: a server started
/// on it must be retried on a new port when it reports the address in use.
uint16_t free_port();

/// A port on 127.0.0.1 where nothing listens, for as long as this object
/// lives: it holds the port bound without listening, so a connection to it
/// is refused and no other server can take it meanwhile.
class closed_port {
public:
  closed_port();
  ~closed_port();
  closed_port(const closed_port&) = delete;
  closed_port& operator=(const closed_port&) = delete;

  uint16_t port() const noexcept { return port_; }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

} // namespace troupe::test
