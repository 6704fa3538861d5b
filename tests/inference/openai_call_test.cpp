// The behaviour of one provider call (openai_call) as the pool runs it:
// requests, answers, streams, retries, timeouts and error mapping.
#include "actors/inference/openai_call.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/inference/errc.hpp"
#include "tests/inference/provider_calls.hpp"
#include "tests/support/fake_openai_server.hpp"
#include "tests/support/free_port.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using troupe::inference::errc;
using troupe::inference::is;
using troupe::test::fake_openai_server;
using troupe::test::hello;
using troupe::test::message_of;
using troupe::test::run_call;
using troupe::test::scripted_response;
using troupe::test::seconds_since;
using troupe::test::sse_data;
using troupe::test::stream_piece;
using troupe::test::test_provider;

namespace {

constexpr const char* api_key = troupe::test::provider_api_key;

/// The error of a generation that `server` answers with `answer`; `cap`
/// bounds both a body and an SSE event.
caf::error failure_of(fake_openai_server& server, scripted_response answer, bool stream = false,
                      size_t cap = size_t{1} << 20) {
  server.push(std::move(answer));
  auto o = test_provider(server.base_url());
  o.max_event_bytes = o.max_response_bytes = cap;
  std::vector<std::string> deltas;
  auto r = run_call(o, hello(), stream ? &deltas : nullptr);
  REQUIRE_FALSE(r);
  return r.error();
}

std::string tool_fragment(int index, const std::string& id, const std::string& name,
                          const std::string& args) {
  json call{{"index", index}, {"function", {{"arguments", args}}}};
  if (!id.empty())
    call["id"] = id;
  if (!name.empty())
    call["function"]["name"] = name;
  return json{{"choices", {{{"index", 0}, {"delta", {{"tool_calls", {call}}}}}}}}.dump();
}

} // namespace

TEST_CASE("the client gets a whole answer and sends the key only as a bearer header") {
  fake_openai_server server;
  auto r = run_call(test_provider(server.base_url()), hello(), nullptr, "fake-model");
  REQUIRE(r);
  CHECK(r->message().role() == "assistant");
  CHECK(r->message().content() == "fake heard: hi");
  CHECK(r->finish_reason() == "stop");
  CHECK(r->model() == "fake-model");
  CHECK(r->provider() == "fake");
  CHECK(r->usage().total_tokens() == 6);
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].target == "/v1/chat/completions");
  CHECK(seen[0].header("Authorization") == std::string{"Bearer "} + api_key);
  CHECK(seen[0].header("Content-Type") == "application/json");
  auto body = json::parse(seen[0].body);
  CHECK(body["model"] == "fake-model");
  CHECK(body["messages"].size() == 2);
  CHECK(seen[0].body.find(api_key) == std::string::npos);
}

TEST_CASE("a local provider without a key gets no Authorization header") {
  fake_openai_server server;
  auto o = test_provider(server.base_url() + "/");
  o.api_key.clear();
  REQUIRE(run_call(o, hello()));
  CHECK(server.requests().at(0).header("Authorization").empty());
  CHECK(server.requests().at(0).target == "/v1/chat/completions");
}

TEST_CASE("the client streams content deltas in order") {
  fake_openai_server server;
  std::vector<std::string> deltas;
  auto r = run_call(test_provider(server.base_url()), hello(), &deltas, "fake-model");
  REQUIRE(r);
  CHECK(deltas == std::vector<std::string>{"fake ", "heard: ", "hi"});
  CHECK(r->message().content() == "fake heard: hi");
  CHECK(r->finish_reason() == "stop");
  CHECK(r->usage().total_tokens() == 6);
  auto body = json::parse(server.requests().at(0).body);
  CHECK(body["stream"] == true);
  CHECK(server.requests().at(0).header("Accept") == "text/event-stream");
}

TEST_CASE("the client assembles streamed tool calls from fragments split across chunks") {
  fake_openai_server server;
  auto events = sse_data(troupe::test::content_chunk("Checking."))
                + sse_data(tool_fragment(0, "call_a", "weather", ""))
                + sse_data(tool_fragment(1, "call_b", "time", "{\"tz\":"))
                + sse_data(tool_fragment(0, "", "", "{\"city\":"))
                + sse_data(tool_fragment(0, "", "", "\"Oslo\"}"))
                + sse_data(tool_fragment(1, "", "", "\"UTC\"}"))
                + sse_data(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})")
                + sse_data("[DONE]");
  // Pieces of 7 bytes cut events, lines and CRLF-free JSON at arbitrary places.
  std::vector<stream_piece> pieces;
  for (size_t i = 0; i < events.size(); i += 7)
    pieces.push_back({events.substr(i, 7), {}});
  server.push(scripted_response::sse(std::move(pieces)));
  std::vector<std::string> deltas;
  auto r = run_call(test_provider(server.base_url()), hello(), &deltas);
  REQUIRE(r);
  CHECK(deltas == std::vector<std::string>{"Checking."});
  CHECK(r->finish_reason() == "tool_calls");
  REQUIRE(r->message().tool_calls_size() == 2);
  CHECK(r->message().tool_calls(0).id() == "call_a");
  CHECK(r->message().tool_calls(0).name() == "weather");
  CHECK(r->message().tool_calls(0).arguments_json() == R"({"city":"Oslo"})");
  CHECK(r->message().tool_calls(1).id() == "call_b");
  CHECK(r->message().tool_calls(1).arguments_json() == R"({"tz":"UTC"})");
}

TEST_CASE("a 429 is retried after the provider's Retry-After") {
  fake_openai_server server;
  server.push(
      scripted_response::json(429, R"({"error":{"message":"slow down"}})", {{"Retry-After", "1"}}));
  auto start = std::chrono::steady_clock::now();
  auto r = run_call(test_provider(server.base_url()), hello());
  auto took = seconds_since(start);
  REQUIRE(r);
  CHECK(r->message().content() == "fake heard: hi");
  CHECK(server.requests().size() == 2);
  CHECK(took >= 0.95);
  CHECK(took < 2.5);
}

TEST_CASE("a Retry-After beyond the cap waits only the cap") {
  fake_openai_server server;
  server.push(scripted_response::json(503, "{}", {{"Retry-After", "3600"}}));
  auto o = test_provider(server.base_url());
  o.retry_after_max = 100ms;
  auto start = std::chrono::steady_clock::now();
  REQUIRE(run_call(o, hello()));
  CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("5xx answers are retried until the client gives up as backend_unavailable") {
  fake_openai_server server;
  for (int i = 0; i < 3; ++i)
    server.push(scripted_response::json(500, std::string{R"({"error":{"message":"boom with )"}
                                                 + api_key + "\"}}"));
  auto r = run_call(test_provider(server.base_url()), hello());
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::backend_unavailable));
  CHECK(server.requests().size() == 3); // max_retries 2: three attempts
  auto msg = message_of(r.error());
  CHECK(msg.find("HTTP 500") != std::string::npos);
  CHECK(msg.find("3 attempts") != std::string::npos);
  CHECK(msg.find("boom") != std::string::npos);
  CHECK(msg.find(api_key) == std::string::npos);
}

TEST_CASE("a provider nobody listens on is backend_unavailable after the retries") {
  troupe::test::closed_port nobody;
  auto r = run_call(test_provider("http://127.0.0.1:" + std::to_string(nobody.port()) + "/v1"),
                    hello());
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::backend_unavailable));
  CHECK(message_of(r.error()).find("3 attempts") != std::string::npos);
}

TEST_CASE("a redirect is refused, not retried and never followed") {
  fake_openai_server server;
  auto err = failure_of(server, scripted_response::redirect(server.base_url() + "/elsewhere"));
  CHECK(is(err, errc::redirect_refused));
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/v1/chat/completions");
  CHECK(message_of(err).find("302") != std::string::npos);
}

TEST_CASE("a backend that never answers hits the request timeout, unretried") {
  fake_openai_server server;
  server.push(scripted_response::hang());
  auto o = test_provider(server.base_url());
  o.request_timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto r = run_call(o, hello());
  auto took = seconds_since(start);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::timeout));
  CHECK(took >= 0.25);
  CHECK(took < 1.5);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("a stream that goes quiet hits the idle timeout") {
  fake_openai_server server;
  server.push(scripted_response::sse(
      {{sse_data(troupe::test::content_chunk("first")), {}}, {sse_data("[DONE]"), 3s}}));
  auto o = test_provider(server.base_url());
  o.idle_timeout = 200ms;
  o.request_timeout = 5s;
  std::vector<std::string> deltas;
  auto start = std::chrono::steady_clock::now();
  auto r = run_call(o, hello(), &deltas);
  auto took = seconds_since(start);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::timeout));
  CHECK(deltas == std::vector<std::string>{"first"});
  CHECK(took >= 0.15);
  CHECK(took < 1.5);
}

TEST_CASE("malformed answers are malformed_response, unretried") {
  struct row {
    const char* what;
    scripted_response answer;
    bool stream;
  };
  std::vector<row> rows{
      {"a body that is not JSON", scripted_response::json(200, "<html>hello</html>"), false},
      {"JSON of the wrong shape", scripted_response::json(200, R"({"choices":"none"})"), false},
      {"a body over the size cap", scripted_response::json(200, std::string(4096, ' ')), false},
      {"an SSE event that is not JSON",
       scripted_response::sse({{sse_data("{\"choices\": [tru"), {}}, {sse_data("[DONE]"), {}}}),
       true},
      {"a stream that ends before it is done",
       scripted_response::sse({{sse_data(troupe::test::content_chunk("half")), {}}}), true},
      {"an SSE event over the size cap",
       scripted_response::sse(
           {{sse_data(troupe::test::content_chunk(std::string(4096, 'x'))), {}}}),
       true},
  };
  for (auto& r : rows) {
    INFO(r.what);
    fake_openai_server server;
    CHECK(is(failure_of(server, std::move(r.answer), r.stream, 1024), errc::malformed_response));
    CHECK(server.requests().size() == 1);
  }
}

TEST_CASE("a 400 is a provider_error carrying the provider's message, unretried") {
  fake_openai_server server;
  auto err = failure_of(server, scripted_response::json(400, R"({"error":{"message":
    "model 'm' does not exist","type":"invalid_request_error","code":"model_not_found"}})"));
  CHECK(is(err, errc::provider_error));
  auto msg = message_of(err);
  CHECK(msg.find("model 'm' does not exist") != std::string::npos);
  CHECK(msg.find("model_not_found") != std::string::npos);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("a 401 names the key without ever showing it") {
  fake_openai_server server;
  auto err = failure_of(server, scripted_response::json(401, std::string{R"({"error":{"message":
    "Incorrect API key provided: )"} + api_key + "\"}}"));
  CHECK(is(err, errc::provider_error));
  auto msg = message_of(err);
  CHECK(msg.find("check the provider key") != std::string::npos);
  CHECK(msg.find("Incorrect API key provided: [redacted]") != std::string::npos);
  CHECK(msg.find(api_key) == std::string::npos);
}

TEST_CASE("an error event mid-stream is a provider_error") {
  fake_openai_server server;
  auto err =
      failure_of(server,
                 scripted_response::sse({{sse_data(troupe::test::content_chunk("a")), {}},
                                         {sse_data(R"({"error":{"message":"overloaded"}})"), {}}}),
                 true);
  CHECK(is(err, errc::provider_error));
  CHECK(message_of(err).find("overloaded") != std::string::npos);
}

TEST_CASE("a malformed tool schema is invalid_request before any network call") {
  fake_openai_server server;
  auto req = hello();
  auto* tool = req.add_tools();
  tool->set_name("t");
  tool->set_parameters_json("{\"type\": ");
  auto r = run_call(test_provider(server.base_url()), req);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_request));
  CHECK(server.requests().empty());
}
