// The admin server against a real HTTP client (libcurl) and raw sockets, on
// 127.0.0.1 with a free port.
#include <catch2/catch.hpp>

#include <atomic>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/metrics.hpp"
#include "admin/admin_server.hpp"
#include "admin/errc.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/raw_http.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct fixture {
  std::atomic<bool> ready{false};
  std::atomic<int> health_mode{0}; // 0: snapshot, 1: std exception, 2: other throw, 3: array
  std::shared_ptr<prometheus::Registry> registry = metrics::make_registry();
  std::unique_ptr<admin::admin_server> server;

  explicit fixture(admin::server_config cfg = {}) {
    cfg.port = 0;
    admin::hooks h;
    h.ready = [this] {
      return ready ? admin::readiness{true, {}} : admin::readiness{false, {"nats", "postgres"}};
    };
    h.health = [this]() -> nlohmann::json {
      if (health_mode == 1)
        throw std::runtime_error("storage snapshot unavailable");
      if (health_mode == 2)
        throw 42;
      if (health_mode == 3)
        return nlohmann::json::array({1, 2});
      return {{"node_id", "n1"}, {"roles", {"worker"}}};
    };
    h.metrics = registry;
    auto s = admin::admin_server::start(cfg, h);
    REQUIRE(s);
    server = std::move(*s);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }

  /// One request on a fresh connection, answer read until the server closes.
  test::raw_response exchange(const std::string& bytes) const {
    test::raw_connection c{server->port()};
    c.send(bytes);
    auto all = c.read_until_closed();
    REQUIRE(all);
    auto res = test::parse_response(*all);
    REQUIRE(res);
    return *res;
  }
};

nlohmann::json error_of(const test::raw_response& r) {
  auto body = nlohmann::json::parse(r.body);
  REQUIRE(body.contains("error"));
  CHECK(body["error"]["message"].is_string());
  return body["error"]["code"];
}

} // namespace

TEST_CASE("livez answers 200 without consulting any hook", "[admin][unit]") {
  auto s = admin::admin_server::start({"127.0.0.1", 0}, {});
  REQUIRE(s);
  auto r = test::http_get("http://127.0.0.1:" + std::to_string((*s)->port()) + "/livez");
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(nlohmann::json::parse(r.body) == nlohmann::json{{"live", true}});
}

TEST_CASE("ready is 503 with what is missing, then 200 once the hook says ready", "[admin][unit]") {
  fixture f;
  auto r = test::http_get(f.url("/ready"));
  CHECK(r.status == 503);
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["ready"] == false);
  CHECK(body["missing"] == nlohmann::json::array({"nats", "postgres"}));
  f.ready = true;
  r = test::http_get(f.url("/ready"));
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)
        == nlohmann::json{{"ready", true}, {"missing", nlohmann::json::array()}});
  f.ready = false;
  CHECK(test::http_get(f.url("/ready")).status == 503);
}

TEST_CASE("a server without hooks is live but not ready, with an empty snapshot", "[admin][unit]") {
  auto s = admin::admin_server::start({"127.0.0.1", 0}, {});
  REQUIRE(s);
  auto base = "http://127.0.0.1:" + std::to_string((*s)->port());
  auto ready = test::http_get(base + "/ready");
  CHECK(ready.status == 503);
  CHECK(nlohmann::json::parse(ready.body)["missing"]
        == nlohmann::json::array({"no readiness hook"}));
  auto health = test::http_get(base + "/health");
  CHECK(health.status == 200);
  CHECK(nlohmann::json::parse(health.body) == nlohmann::json{{"live", true}});
  auto metrics = test::http_get(base + "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.empty());
}

TEST_CASE("health returns the hook's snapshot as JSON plus live", "[admin][unit]") {
  fixture f;
  auto r = test::http_get(f.url("/health?verbose=1"));
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["node_id"] == "n1");
  CHECK(body["roles"] == nlohmann::json::array({"worker"}));
  CHECK(body["live"] == true);
}

TEST_CASE("a hook that throws gives a 500 JSON error and the server keeps serving",
          "[admin][unit]") {
  fixture f;
  f.health_mode = 1;
  auto r = test::http_get(f.url("/health"));
  CHECK(r.status == 500);
  auto body = nlohmann::json::parse(r.body);
  CHECK(body["error"]["code"] == "internal_error");
  CHECK(body["error"]["message"] == "storage snapshot unavailable");
  f.health_mode = 2;
  r = test::http_get(f.url("/health"));
  CHECK(r.status == 500);
  CHECK(nlohmann::json::parse(r.body)["error"]["code"] == "internal_error");
  f.health_mode = 3; // not an object: cannot carry "live"
  r = test::http_get(f.url("/health"));
  CHECK(r.status == 500);
  CHECK(nlohmann::json::parse(r.body)["error"]["code"] == "internal_error");
  f.health_mode = 0;
  CHECK(test::http_get(f.url("/health")).status == 200);
}

TEST_CASE("metrics is Prometheus text with the server's own request counter", "[admin][unit]") {
  fixture f;
  (void)test::http_get(f.url("/livez"));
  (void)test::http_get(f.url("/ready"));
  (void)test::http_get(f.url("/nope"));
  (void)test::http_get(f.url("/nope/again"));
  auto r = test::http_get(f.url("/metrics"));
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");

  // Every line is a HELP, a TYPE or a sample: what a Prometheus scraper parses.
  const std::regex help{R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)"};
  const std::regex type{
      R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))"};
  const std::regex sample{
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? (?:[-+0-9.eE]+|[-+]?Inf|NaN))"};
  std::istringstream in{r.body};
  std::map<std::string, std::string> counter; // labels -> value
  bool saw_help = false;
  bool saw_type = false;
  for (std::string line; std::getline(in, line);) {
    if (line.empty())
      continue;
    INFO(line);
    std::smatch m;
    if (line.rfind("# HELP troupe_admin_requests_total ", 0) == 0)
      saw_help = true;
    if (line == "# TYPE troupe_admin_requests_total counter")
      saw_type = true;
    bool ok = std::regex_match(line, help) || std::regex_match(line, type)
              || std::regex_match(line, m, sample);
    CHECK(ok);
    if (!m.empty() && m[1] == "troupe_admin_requests_total") {
      auto sp = line.rfind(' ');
      counter[m[2]] = line.substr(sp + 1);
    }
  }
  CHECK(saw_help);
  CHECK(saw_type);
  CHECK(counter[R"({code="200",path="/livez"})"] == "1");
  CHECK(counter[R"({code="503",path="/ready"})"] == "1");
  CHECK(counter[R"({code="404",path="other"})"] == "2"); // unknown paths share one series
  CHECK(counter.size() == 3);
}

TEST_CASE("unknown paths, other methods and request bodies get JSON errors", "[admin][unit]") {
  fixture f;
  auto r = test::http_get(f.url("/v1/secret"));
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/json");
  CHECK(nlohmann::json::parse(r.body)["error"]["code"] == "not_found");

  test::raw_connection c{f.server->port()};
  c.send("POST /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  auto post = c.read_response();
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(post->header("Allow") == "GET, HEAD");
  CHECK(error_of(*post) == "method_not_allowed");

  auto body = f.exchange("GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(body.status == 413);
  CHECK(error_of(body) == "body_not_allowed");

  auto chunked = f.exchange("GET /ready HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n0\r\n\r\n");
  CHECK(chunked.status == 413);
}

TEST_CASE("a path that is not UTF-8 still gets a JSON 404", "[admin][unit]") {
  fixture f;
  auto r = f.exchange("GET /\xff\xfe\x80 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(r.status == 404);
  CHECK(error_of(r) == "not_found");
}

TEST_CASE("HEAD answers the GET headers without a body", "[admin][unit]") {
  fixture f;
  test::raw_connection c{f.server->port()};
  c.send("HEAD /ready HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = c.read_response(/*head_only=*/true);
  REQUIRE(head);
  CHECK(head->status == 503);
  const std::string get_body = R"({"missing":["nats","postgres"],"ready":false})";
  CHECK(head->header("Content-Length") == std::to_string(get_body.size()));
  // The next response on the connection starts right away: no body bytes sneaked in.
  c.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
  auto next = c.read_response();
  REQUIRE(next);
  CHECK(next->status == 200);
  CHECK(next->body == R"({"live":true})");
}

TEST_CASE("one keep-alive connection serves pipelined requests in order", "[admin][unit]") {
  fixture f;
  test::raw_connection c{f.server->port()};
  c.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto a = c.read_response();
  auto b = c.read_response();
  auto h = c.read_response();
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(h);
  CHECK(a->status == 200);
  CHECK(b->status == 503);
  CHECK(h->status == 200);
  CHECK(nlohmann::json::parse(h->body)["node_id"] == "n1");
  CHECK(c.read_until_closed(1s) == std::string{}); // closed after "Connection: close"
}

TEST_CASE("garbage and oversize headers get an error and the server keeps serving",
          "[admin][unit]") {
  fixture f;
  auto garbage = f.exchange(std::string("\x00\x01\xff garbage\r\n\r\n", 15));
  CHECK(garbage.status == 400);
  CHECK(error_of(garbage) == "bad_request");

  auto big = f.exchange("GET /livez HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  CHECK(big.status == 431);
  CHECK(error_of(big) == "header_too_large");

  {
    test::raw_connection c{f.server->port()};
    c.send("GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n");
    auto bad = c.read_until_closed();
    REQUIRE(bad);
    CHECK(bad->rfind("HTTP/1.1 400", 0) == 0);
  }
  {
    test::raw_connection c{f.server->port()};
    c.send("GET /liv"); // and hang up mid-request
  }
  CHECK(test::http_get(f.url("/livez")).status == 200);
}

TEST_CASE("a slow client is cut off after the idle timeout", "[admin][unit]") {
  admin::server_config cfg;
  cfg.idle_timeout = 300ms;
  fixture f{cfg};
  auto t0 = std::chrono::steady_clock::now();
  test::raw_connection c{f.server->port()};
  c.send("GET /liv");
  auto out = c.read_until_closed(3s);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(out);
  CHECK(out->empty());
  CHECK(took >= 250ms);
  CHECK(took < 2s);
  CHECK(test::http_get(f.url("/livez")).status == 200);
}

TEST_CASE("past the connection limit a client gets 503 and is closed", "[admin][unit]") {
  admin::server_config cfg;
  cfg.max_connections = 2;
  fixture f{cfg};
  auto a = std::make_unique<test::raw_connection>(f.server->port());
  test::raw_connection b{f.server->port()};
  for (auto* c : {a.get(), &b}) { // a served request proves the server holds the connection
    c->send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c->read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  auto refused = f.exchange("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(refused.status == 503);
  CHECK(error_of(refused) == "too_many_connections");

  a.reset(); // a slot frees once the server sees the close
  CHECK(test::wait_until(2s, [&] { return test::http_get(f.url("/livez")).status == 200; }));
}

TEST_CASE("binding a port in use is a clear error", "[admin][unit]") {
  fixture f;
  admin::server_config cfg;
  cfg.port = f.server->port();
  auto second = admin::admin_server::start(cfg, {});
  REQUIRE_FALSE(second);
  CHECK(admin::is(second.error(), admin::errc::listen_failed));
  auto text = caf::to_string(second.error());
  INFO(text);
  CHECK(text.find("cannot listen on 127.0.0.1:" + std::to_string(cfg.port)
                  + ": Address already in use")
        != std::string::npos);
}

TEST_CASE("a host that is not an address is a clear error", "[admin][unit]") {
  admin::server_config cfg;
  cfg.host = "not an address";
  cfg.port = 0;
  auto s = admin::admin_server::start(cfg, {});
  REQUIRE_FALSE(s);
  CHECK(admin::is(s.error(), admin::errc::listen_failed));
  CHECK(caf::to_string(s.error()).find("cannot listen on not an address:0") != std::string::npos);
}

TEST_CASE("a registry whose counter name is taken by another type is a clear error",
          "[admin][unit]") {
  auto registry = metrics::make_registry();
  prometheus::BuildGauge().Name("troupe_admin_requests_total").Help("clash").Register(*registry);
  admin::hooks h;
  h.metrics = registry;
  auto s = admin::admin_server::start({"127.0.0.1", 0}, h);
  REQUIRE_FALSE(s);
  CHECK(admin::is(s.error(), admin::errc::metrics_failed));
}

TEST_CASE("two servers on one registry share the request counter", "[admin][unit]") {
  fixture a;
  admin::hooks h;
  h.metrics = a.registry;
  auto b = admin::admin_server::start({"127.0.0.1", 0}, h);
  REQUIRE(b);
  CHECK(test::http_get("http://127.0.0.1:" + std::to_string((*b)->port()) + "/livez").status
        == 200);
  CHECK(test::http_get(a.url("/livez")).status == 200);
  auto text = metrics::render(*a.registry);
  CHECK(text.find(R"(troupe_admin_requests_total{code="200",path="/livez"} 2)")
        != std::string::npos);
}

TEST_CASE("stop is prompt, closes open connections and the listener, and is idempotent",
          "[admin][unit]") {
  fixture f;
  auto port = f.server->port();
  test::raw_connection idle{port};
  test::raw_connection half{port};
  half.send("GET /li");
  CHECK(test::http_get(f.url("/livez")).status == 200); // both are accepted by now
  auto t0 = std::chrono::steady_clock::now();
  f.server->stop();
  f.server->stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(idle.read_until_closed(1s).has_value());
  CHECK(half.read_until_closed(1s).has_value());
  CHECK_FALSE(test::port_open(port));
  CHECK(f.server->port() == port);
  f.server.reset(); // the destructor after stop() is a no-op
}

TEST_CASE("errc names are stable and parse back", "[admin][unit]") {
  CHECK(admin::to_string(admin::errc::listen_failed) == "listen_failed");
  CHECK(admin::to_string(admin::errc::metrics_failed) == "metrics_failed");
  CHECK(admin::errc_from_string("listen_failed") == admin::errc::listen_failed);
  CHECK(admin::errc_from_string("from_the_future") == admin::errc::unknown);
  CHECK_FALSE(admin::is(caf::error{}, admin::errc::listen_failed));
}
