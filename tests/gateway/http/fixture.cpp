#include "tests/gateway/http/fixture.hpp"

#include <catch2/catch.hpp>
#include <sstream>

namespace troupe::test {

gateway_fixture::gateway_fixture(gateway::http::server_options opts) {
  opts.port = 0;
  auto s = gateway::http::gateway_server::start(opts, auth, backend, registry.get());
  REQUIRE(s);
  server = std::move(*s);
}

gateway_fixture::~gateway_fixture() {
  server.reset(); // cancels what still runs before the backend goes
}

std::string gateway_fixture::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(server->port()) + path;
}

http_response gateway_fixture::get(const std::string& path, std::vector<std::string> headers) {
  return send("GET", path, std::move(headers));
}

http_response gateway_fixture::post(const std::string& path, const std::string& body,
                                    std::vector<std::string> headers) {
  return send("POST", path, std::move(headers), body);
}

http_response gateway_fixture::send(const std::string& method, const std::string& path,
                                    std::vector<std::string> headers, const std::string& body) {
  http_request req;
  req.method = method;
  req.url = url(path);
  req.headers = std::move(headers);
  req.body = body;
  return http_send(req);
}

raw_response gateway_fixture::exchange(const std::string& bytes) const {
  raw_connection c{server->port()};
  c.send(bytes);
  auto all = c.read_until_closed();
  REQUIRE(all);
  auto res = parse_response(*all);
  REQUIRE(res);
  return *res;
}

std::unique_ptr<raw_connection> gateway_fixture::streaming(const std::string& body) const {
  auto c = std::make_unique<raw_connection>(server->port());
  c->send(raw_post("/v1/chat/stream", body));
  REQUIRE(c->read_until("event: delta").has_value());
  return c;
}

std::string raw_post(const std::string& path, const std::string& body,
                     const std::string& extra_headers) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme:alice\r\n"
         + "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size())
         + "\r\n" + extra_headers + "\r\n" + body;
}

nlohmann::json error_of(const std::string& body) {
  auto j = nlohmann::json::parse(body);
  REQUIRE(j.contains("error"));
  CHECK(j["error"]["message"].is_string());
  CHECK(j["error"]["code"].is_string());
  return j["error"];
}

std::vector<std::pair<std::string, std::string>> sse_events(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in{body};
  std::string event;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(": ", 0) == 0)
      out.emplace_back(":", line.substr(2));
    else if (line.rfind("event: ", 0) == 0)
      event = line.substr(7);
    else if (line.rfind("data: ", 0) == 0)
      out.emplace_back(std::exchange(event, {}), line.substr(6));
  }
  return out;
}

double sample(const std::string& text, const std::string& series) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

} // namespace troupe::test
