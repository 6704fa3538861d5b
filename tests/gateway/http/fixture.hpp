#pragma once
/// A gateway server on a free loopback port over the test backend and
/// authenticator, and the requests the tests send it: libcurl for
/// well-behaved clients, raw sockets for framing, limits and hang-ups.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/gateway/http/gateway_server.hpp"
#include "common/metrics.hpp"
#include "tests/gateway/http/test_backend.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/raw_http.hpp"

namespace troupe::test {

/// Credentials test_authenticator accepts: tenant "acme", user "alice".
inline const std::string alice = "Authorization: Bearer acme:alice";

struct gateway_fixture {
  explicit gateway_fixture(gateway::http::server_options opts = {});
  ~gateway_fixture();

  std::shared_ptr<test_backend> backend = std::make_shared<test_backend>();
  std::shared_ptr<test_authenticator> auth = std::make_shared<test_authenticator>();
  metrics::registry_ptr registry = metrics::make_registry();
  std::unique_ptr<gateway::http::gateway_server> server;

  std::string url(const std::string& path) const;
  uint16_t port() const { return server->port(); }

  /// As alice unless `headers` is given.
  http_response get(const std::string& path, std::vector<std::string> headers = {alice});
  http_response post(const std::string& path, const std::string& body,
                     std::vector<std::string> headers = {alice, "Content-Type: application/json"});
  http_response send(const std::string& method, const std::string& path,
                     std::vector<std::string> headers = {alice}, const std::string& body = {});

  /// One request on a fresh raw connection; the answer read until the server closes.
  raw_response exchange(const std::string& bytes) const;

  /// A raw connection whose stream turn is under way: its first delta has arrived.
  std::unique_ptr<raw_connection> streaming(const std::string& body = R"({"message":"hi"})") const;
};

/// A raw POST of `body` as alice (Content-Type application/json).
std::string raw_post(const std::string& path, const std::string& body,
                     const std::string& extra_headers = {});

/// The `error` object of a JSON error body (checks the native shape).
nlohmann::json error_of(const std::string& body);

/// The events of an SSE body: (event name, data) in order; comments as (":", text).
std::vector<std::pair<std::string, std::string>> sse_events(const std::string& body);

/// The number in `text` (Prometheus exposition) on the line that starts with `series `.
double sample(const std::string& text, const std::string& series);

} // namespace troupe::test
