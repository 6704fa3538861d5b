// A restart of "the same" nats-server needs its old port, which another
// process may hold for a while.
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "tests/support/nats_server.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;

TEST_CASE("a restarted nats-server waits for its old port to be free again",
          "[support][integration]") {
  nats_server srv;
  auto port = srv.port();
  srv.stop();
  // Someone else listens on the port meanwhile, for a while.
  int squatter = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  int one = 1;
  ::setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  REQUIRE(::bind(squatter, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(squatter, 1) == 0);
  std::thread leave{[&] {
    std::this_thread::sleep_for(1s); // how long the port stays taken, not a wait for anything
    ::close(squatter);
  }};
  srv.start();
  leave.join();
  CHECK(srv.port() == port);
  CHECK(port_open(port));
  CHECK(srv.pid() > 0);
}
