// The gateway server's HTTP plumbing over real loopback sockets: limits,
// timeouts, authentication, rate limit, routing errors, keep-alive, metrics
// and start-up errors.
#include <catch2/catch.hpp>
#include <thread>

#include "actors/gateway/http/errc.hpp"
#include "tests/gateway/http/fixture.hpp"
#include "tests/support/child_process.hpp"

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace gh = troupe::gateway::http;

TEST_CASE("a body over the limit is 413 body_too_large, in the route's error shape",
          "[gateway_http][unit]") {
  gh::server_options o;
  o.max_body_bytes = 1000;
  gateway_fixture f{o};
  auto big = R"({"message":")" + std::string(2000, 'a') + R"("})";
  auto native = f.exchange(raw_post("/v1/chat", big));
  CHECK(native.status == 413);
  CHECK(error_of(native.body)["code"] == "body_too_large");
  auto openai = f.exchange(raw_post("/v1/chat/completions", big));
  CHECK(openai.status == 413);
  auto e = json::parse(openai.body)["error"];
  CHECK(e["code"] == "body_too_large");
  CHECK(e["type"] == "invalid_request_error");
  // Announced but never sent: refused on the header alone.
  raw_connection c{f.port()};
  c.send("POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n");
  auto early = c.read_response();
  REQUIRE(early);
  CHECK(early->status == 413);
  // curl announces big bodies with Expect: 100-continue; a body within the limit still goes.
  auto ok = f.post("/v1/chat", R"({"message":")" + std::string(900, 'a') + R"("})",
                   {alice, "Content-Type: application/json", "Expect: 100-continue"});
  CHECK(ok.status == 200);
  CHECK(f.backend->inputs().size() == 1);
}

TEST_CASE("headers over the limit are 431", "[gateway_http][unit]") {
  gateway_fixture f;
  auto r = f.exchange("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17000, 'a')
                      + "\r\n\r\n");
  CHECK(r.status == 431);
  CHECK(error_of(r.body)["code"] == "header_too_large");
  CHECK(f.get("/v1/models").status == 200);
}

TEST_CASE("garbage is 400 bad_request and the server keeps serving", "[gateway_http][unit]") {
  gateway_fixture f;
  auto r = f.exchange(std::string("\x00\x01\xff garbage\r\n\r\n", 15));
  CHECK(r.status == 400);
  CHECK(error_of(r.body)["code"] == "bad_request");
  {
    raw_connection c{f.port()};
    c.send("POST /v1/chat HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"me"); // and hang up
  }
  CHECK(f.get("/v1/models").status == 200);
}

TEST_CASE("a client slower than the read timeout is cut off mid-request", "[gateway_http][unit]") {
  gh::server_options o;
  o.read_timeout = 300ms;
  gateway_fixture f{o};
  raw_connection c{f.port()};
  auto t0 = std::chrono::steady_clock::now();
  // A byte every 50 ms keeps each read short, but the whole request is too slow.
  const std::string request =
      "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
  bool closed = false;
  for (char ch : request) {
    c.send(std::string_view{&ch, 1});
    if (c.read_until_closed(50ms)) {
      closed = true;
      break;
    }
  }
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(closed);
  CHECK(took >= 250ms);
  CHECK(took < 1500ms);
  CHECK(f.get("/v1/models").status == 200);
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout",
          "[gateway_http][unit]") {
  gh::server_options o;
  o.idle_timeout = 300ms;
  gateway_fixture f{o};
  raw_connection c{f.port()};
  c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme:alice\r\n\r\n");
  auto first = c.read_response();
  REQUIRE(first);
  CHECK(first->status == 200);
  auto t0 = std::chrono::steady_clock::now();
  auto rest = c.read_until_closed(2s);
  REQUIRE(rest);
  CHECK(rest->empty());
  CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
}

TEST_CASE("one keep-alive connection serves many requests, pipelined too", "[gateway_http][unit]") {
  gateway_fixture f;
  raw_connection c{f.port()};
  const std::string get =
      "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme:alice\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    c.send(get);
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("Connection").empty()); // HTTP/1.1: kept alive without saying so
  }
  c.send(get + raw_post("/v1/chat", R"({"message":"hi"})") + get);
  for (int status : {200, 200, 200}) {
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == status);
  }
  CHECK(sample(metrics::render(*f.registry), "troupe_gateway_open_connections") == 1);
}

TEST_CASE("every /v1 route wants credentials: 401 with WWW-Authenticate: Bearer",
          "[gateway_http][unit]") {
  gateway_fixture f;
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/v1/chat"},
           {"POST", "/v1/chat/stream"},
           {"POST", "/v1/chat/completions"},
           {"GET", "/v1/models"},
           {"GET", "/v1/models/m"},
           {"GET", "/v1/sessions"},
           {"GET", "/v1/sessions/s1"},
           {"DELETE", "/v1/sessions/s1"},
           {"GET", "/v1/sessions/s1/messages"},
       }) {
    INFO(method << " " << path);
    auto r = f.send(method, path, {"Authorization: Basic eDp5", "Content-Type: application/json"});
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate") == "Bearer");
    CHECK(json::parse(r.body)["error"]["code"] == "unauthenticated");
  }
  CHECK(f.backend->inputs().empty());
  auto other_tenant = f.get("/v1/sessions", {alice, "X-Tenant-ID: globex"});
  CHECK(other_tenant.status == 403);
  CHECK(other_tenant.header("WWW-Authenticate").empty());
  CHECK(error_of(other_tenant.body)["code"] == "tenant_mismatch");
  CHECK(f.get("/v1/sessions", {alice, "X-Tenant-ID: acme"}).status == 200);
}

TEST_CASE("past its burst a principal gets 429 rate_limited with Retry-After",
          "[gateway_http][unit]") {
  gh::server_options o;
  o.rate_per_second = 0.5;
  o.rate_burst = 3;
  gateway_fixture f{o};
  for (int i = 0; i < 3; ++i)
    CHECK(f.get("/v1/models").status == 200);
  auto limited = f.get("/v1/models");
  CHECK(limited.status == 429);
  CHECK(limited.header("Retry-After") == "2");
  auto e = json::parse(limited.body)["error"];
  CHECK(e["code"] == "rate_limited");
  CHECK(e["type"] == "rate_limit_error");
  auto native = f.post("/v1/chat", R"({"message":"hi"})");
  CHECK(native.status == 429);
  CHECK(error_of(native.body)["code"] == "rate_limited");
  // Another principal has a bucket of its own.
  CHECK(f.get("/v1/models", {"Authorization: Bearer acme:bob"}).status == 200);
  CHECK(f.backend->inputs().empty());
}

TEST_CASE("past max_connections a gateway client gets 503 and is closed", "[gateway_http][unit]") {
  gh::server_options o;
  o.max_connections = 2;
  gateway_fixture f{o};
  auto a = std::make_unique<raw_connection>(f.port());
  raw_connection b{f.port()};
  for (auto* c : {a.get(), &b}) {
    c->send("GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c->read_response();
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  auto refused = f.exchange("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(refused.status == 503);
  CHECK(error_of(refused.body)["code"] == "too_many_connections");
  a.reset();
  CHECK(wait_until(2s, [&] { return f.get("/v1/models").status == 200; }));
}

TEST_CASE("unknown paths are 404, other methods 405 with Allow, HEAD has no body",
          "[gateway_http][unit]") {
  gateway_fixture f;
  auto missing = f.get("/v1/nothing?x=1");
  CHECK(missing.status == 404);
  CHECK(error_of(missing.body) == json{{"code", "not_found"}, {"message", "no route /v1/nothing"}});
  CHECK(f.get("/v1/sessions/a/b/c").status == 404);

  auto put = f.send("PUT", "/v1/chat");
  CHECK(put.status == 405);
  CHECK(put.header("Allow") == "POST");
  CHECK(error_of(put.body)["code"] == "method_not_allowed");
  auto post = f.send("POST", "/v1/sessions/s1");
  CHECK(post.status == 405);
  CHECK(post.header("Allow") == "GET, HEAD, DELETE");
  auto models = f.send("DELETE", "/v1/models");
  CHECK(models.status == 405);
  CHECK(json::parse(models.body)["error"]["type"] == "invalid_request_error");

  raw_connection c{f.port()};
  c.send("HEAD /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme:alice\r\n\r\n");
  auto head = c.read_response(/*head_only=*/true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("Content-Length")
        == std::to_string(std::string{R"({"data":[],"object":"list"})"}.size()));
  c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme:alice\r\n\r\n");
  auto next = c.read_response();
  REQUIRE(next);
  CHECK(next->body == R"({"data":[],"object":"list"})");
}

TEST_CASE("a backend that does not answer in time is 504 backend_timeout", "[gateway_http][unit]") {
  gh::server_options o;
  o.call_timeout = 200ms;
  gateway_fixture f{o};
  f.backend->hold_queries = true;
  auto r = f.get("/v1/sessions");
  CHECK(r.status == 504);
  CHECK(error_of(r.body)["code"] == "backend_timeout");
}

TEST_CASE("metrics count requests by route pattern and code, and time them",
          "[gateway_http][unit]") {
  gateway_fixture f;
  (void)f.get("/v1/models");
  (void)f.send("DELETE", "/v1/models");
  (void)f.get("/v1/sessions/s1");
  (void)f.get("/v1/sessions/s2");
  (void)f.get("/v1/random/path");
  (void)f.get("/v1/other/path");
  // A request is counted once its answer is written: the client may see it a moment before.
  const std::string others = R"(troupe_gateway_requests_total{code="404",route="other"})";
  CHECK(wait_until(2s, [&] { return sample(metrics::render(*f.registry), others) == 2; }));
  auto text = metrics::render(*f.registry);
  INFO(text);
  CHECK(sample(text, R"(troupe_gateway_requests_total{code="200",route="/v1/models"})") == 1);
  CHECK(sample(text, R"(troupe_gateway_requests_total{code="404",route="/v1/sessions/{id}"})")
        == 2);
  CHECK(sample(text, R"(troupe_gateway_requests_total{code="405",route="/v1/models"})") == 1);
  // One histogram per route, whatever the codes.
  CHECK(sample(text, R"(troupe_gateway_request_seconds_count{route="/v1/models"})") == 2);
  CHECK(sample(text, R"(troupe_gateway_request_seconds_count{route="/v1/sessions/{id}"})") == 2);
  CHECK(sample(text, "troupe_gateway_active_streams") == 0);
  CHECK(wait_until(2s, [&] {
    return sample(metrics::render(*f.registry), "troupe_gateway_open_connections") == 0;
  }));
}

TEST_CASE("start refuses bad options, a taken port and a clashing metric clearly",
          "[gateway_http][unit]") {
  auto backend = std::make_shared<test_backend>();
  auto auth = std::make_shared<test_authenticator>();
  gh::server_options o;
  o.port = 0;
  auto no_auth = gh::gateway_server::start(o, nullptr, backend, nullptr);
  REQUIRE_FALSE(no_auth);
  CHECK(gh::is(no_auth.error(), gh::errc::invalid_options));
  auto zero = o;
  zero.io_threads = 0;
  CHECK_FALSE(gh::gateway_server::start(zero, auth, backend, nullptr));
  auto negative = o;
  negative.rate_per_second = -1;
  CHECK_FALSE(gh::gateway_server::start(negative, auth, backend, nullptr));

  auto first = gh::gateway_server::start(o, auth, backend, nullptr);
  REQUIRE(first);
  auto taken = o;
  taken.port = (*first)->port();
  auto second = gh::gateway_server::start(taken, auth, backend, nullptr);
  REQUIRE_FALSE(second);
  CHECK(gh::is(second.error(), gh::errc::listen_failed));
  CHECK(caf::to_string(second.error()).find("Address already in use") != std::string::npos);
  auto host = o;
  host.host = "not an address";
  CHECK(gh::is(gh::gateway_server::start(host, auth, backend, nullptr).error(),
               gh::errc::listen_failed));

  auto registry = metrics::make_registry();
  prometheus::BuildGauge().Name("troupe_gateway_requests_total").Help("clash").Register(*registry);
  auto clash = gh::gateway_server::start(o, auth, backend, registry.get());
  REQUIRE_FALSE(clash);
  CHECK(gh::is(clash.error(), gh::errc::metrics_failed));
  CHECK(gh::to_string(gh::errc::metrics_failed) == "metrics_failed");
  CHECK(gh::errc_from_string("from_the_future") == gh::errc::unknown);
}

TEST_CASE("a late backend answer after stop is dropped safely", "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->hold_queries = true;
  std::thread client{[&] { (void)f.get("/v1/sessions"); }};
  REQUIRE(wait_until(2s, [&] { return f.backend->last_principal().user() == "alice"; }));
  f.server.reset(); // stop while the query is held; the backend answers at its destruction
  client.join();
  f.backend.reset();
  SUCCEED();
}
