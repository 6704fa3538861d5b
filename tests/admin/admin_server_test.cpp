// The admin server against a real HTTP client (libcurl) and raw sockets.
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "common/metrics.hpp"
#include "nodes/admin/admin_server.hpp"
#include "tests/support/http_client.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct fixture {
  std::atomic<bool> ready{false};
  std::shared_ptr<prometheus::Registry> registry = metrics::make_registry();
  std::unique_ptr<admin::admin_server> server;

  explicit fixture(admin::server_config cfg = {}) {
    cfg.port = 0;
    admin::hooks h;
    h.ready = [this] {
      return ready ? admin::readiness{true, {}} : admin::readiness{false, {"nats", "postgres"}};
    };
    h.health = [] { return nlohmann::json{{"node_id", "n1"}}; };
    h.metrics = registry;
    auto s = admin::admin_server::start(cfg, h);
    REQUIRE(s);
    server = std::move(*s);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
};

/// Sends raw bytes on a fresh connection; returns what came back before the
/// server closed it (or the 3 s read timeout).
std::string raw_exchange(uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void) ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

} // namespace

TEST_CASE("livez answers 200 without consulting anything", "[admin][unit]") {
  fixture f;
  auto r = test::http_get(f.url("/livez"));
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["live"] == true);
}

TEST_CASE("ready is 503 with what is missing, then 200 once the hook says ready",
          "[admin][unit]") {
  fixture f;
  auto r = test::http_get(f.url("/ready"));
  CHECK(r.status == 503);
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["ready"] == false);
  CHECK(body["missing"] == nlohmann::json::array({"nats", "postgres"}));
  f.ready = true;
  r = test::http_get(f.url("/ready"));
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["missing"].empty());
}

TEST_CASE("health returns the hook's snapshot as JSON", "[admin][unit]") {
  fixture f;
  auto r = test::http_get(f.url("/health"));
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["node_id"] == "n1");
  CHECK(body["live"] == true);
}

TEST_CASE("metrics is Prometheus text with the server's own request counter", "[admin][unit]") {
  fixture f;
  (void) test::http_get(f.url("/livez"));
  (void) test::http_get(f.url("/nope"));
  auto r = test::http_get(f.url("/metrics"));
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body.find("# TYPE troupe_admin_requests_total counter") != std::string::npos);
  CHECK(r.body.find(R"(troupe_admin_requests_total{code="200",path="/livez"} 1)")
        != std::string::npos);
  CHECK(r.body.find(R"(troupe_admin_requests_total{code="404",path="other"} 1)")
        != std::string::npos);
}

TEST_CASE("unknown paths, other methods and request bodies get JSON errors", "[admin][unit]") {
  fixture f;
  auto r = test::http_get(f.url("/v1/secret"));
  CHECK(r.status == 404);
  CHECK(nlohmann::json::parse(r.body)["error"]["code"] == "not_found");
  auto post = raw_exchange(f.server->port(), "POST /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  CHECK(post.find("405") != std::string::npos);
  CHECK(post.find("Allow: GET, HEAD") != std::string::npos);
  CHECK(post.find("method_not_allowed") != std::string::npos);
  auto body = raw_exchange(f.server->port(),
                           "GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(body.find("413") != std::string::npos);
  CHECK(body.find("body_not_allowed") != std::string::npos);
}

TEST_CASE("garbage and oversize headers get an error and the server keeps serving",
          "[admin][unit]") {
  fixture f;
  auto garbage = raw_exchange(f.server->port(), std::string("\x00\x01\xff garbage\r\n\r\n", 15));
  CHECK(garbage.find("400") != std::string::npos);
  auto big = raw_exchange(f.server->port(), "GET /livez HTTP/1.1\r\nX-Big: "
                                              + std::string(20000, 'a') + "\r\n\r\n");
  CHECK(big.find("431") != std::string::npos);
  CHECK(test::http_get(f.url("/livez")).status == 200);
}

TEST_CASE("a slow client is cut off after the idle timeout", "[admin][unit]") {
  admin::server_config cfg;
  cfg.idle_timeout = 300ms;
  fixture f{cfg};
  auto t0 = std::chrono::steady_clock::now();
  auto out = raw_exchange(f.server->port(), "GET /liv");
  CHECK(out.empty());
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(test::http_get(f.url("/livez")).status == 200);
}

TEST_CASE("binding a port in use is a clear error", "[admin][unit]") {
  fixture f;
  admin::server_config cfg;
  cfg.port = f.server->port();
  auto second = admin::admin_server::start(cfg, {});
  REQUIRE_FALSE(second);
  CHECK(caf::to_string(second.error()).find("cannot listen on 127.0.0.1:") != std::string::npos);
}

TEST_CASE("stop is prompt with a connection open", "[admin][unit]") {
  fixture f;
  std::thread slow{[&] { (void) raw_exchange(f.server->port(), "GET /li"); }};
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  f.server->stop();
  f.server->stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  slow.join();
}
