#include "tests/support/free_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace troupe::test {

namespace {

/// A socket bound to an ephemeral port on 127.0.0.1, and that port.
int bind_any(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error("free_port: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  port = ntohs(addr.sin_port);
  return fd;
}

} // namespace

uint16_t free_port() {
  uint16_t port = 0;
  ::close(bind_any(port));
  return port;
}

closed_port::closed_port() : fd_(bind_any(port_)) {}

closed_port::~closed_port() {
  ::close(fd_);
}

} // namespace troupe::test
