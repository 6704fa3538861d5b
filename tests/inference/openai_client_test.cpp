#include "actors/inference/openai_client.hpp"

#include <caf/message.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "actors/inference/errc.hpp"
#include "tests/inference/requests.hpp"
#include "tests/support/fake_openai_server.hpp"
#include "tests/support/free_port.hpp"

using namespace std::chrono_literals;
using nlohmann::json;
using troupe::inference::errc;
using troupe::inference::is;
using troupe::inference::openai_client;
using troupe::inference::openai_options;
using troupe::test::fake_openai_server;
using troupe::test::scripted_response;
using troupe::test::sse_data;
using troupe::test::stream_piece;

namespace {

constexpr const char* api_key = "sk-test-SECRET-0123456789";

/// Options sized for tests: every wait is short.
openai_options test_options(const std::string& base_url) {
  openai_options o;
  o.provider = "fake";
  o.base_url = base_url;
  o.api_key = api_key;
  o.connect_timeout = 500ms;
  o.request_timeout = 2s;
  o.idle_timeout = 1s;
  o.max_retries = 2;
  o.backoff_initial = 10ms;
  o.backoff_max = 40ms;
  o.retry_after_max = 2s;
  return o;
}

std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  return ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : std::string{};
}

auto hello() {
  return troupe::test::make_request({{"system", "be brief"}, {"user", "hi"}});
}

struct collected {
  std::vector<std::string> deltas;
  troupe::inference::delta_fn fn() {
    return [this](std::string_view d) { deltas.emplace_back(d); };
  }
};

/// The error of a generation that `server` answers with `answer`; `cap`
/// bounds both a body and an SSE event.
caf::error failure_of(fake_openai_server& server, scripted_response answer, bool stream = false,
                      size_t cap = size_t{1} << 20) {
  server.push(std::move(answer));
  auto o = test_options(server.base_url());
  o.max_event_bytes = o.max_response_bytes = cap;
  openai_client client{o};
  auto on_delta =
      stream ? troupe::inference::delta_fn{[](std::string_view) {}} : troupe::inference::delta_fn{};
  auto r = client.generate(hello(), "m", on_delta, nullptr);
  REQUIRE_FALSE(r);
  return r.error();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  openai_client client{test_options(server.base_url())};
  auto r = client.generate(hello(), "fake-model", {}, nullptr);
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
  auto o = test_options(server.base_url() + "/");
  o.api_key.clear();
  openai_client client{o};
  REQUIRE(client.generate(hello(), "m", {}, nullptr));
  CHECK(server.requests().at(0).header("Authorization").empty());
  CHECK(server.requests().at(0).target == "/v1/chat/completions");
}

TEST_CASE("the client streams content deltas in order") {
  fake_openai_server server;
  openai_client client{test_options(server.base_url())};
  collected got;
  auto r = client.generate(hello(), "fake-model", got.fn(), nullptr);
  REQUIRE(r);
  CHECK(got.deltas == std::vector<std::string>{"fake ", "heard: ", "hi"});
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
  openai_client client{test_options(server.base_url())};
  collected got;
  auto r = client.generate(hello(), "m", got.fn(), nullptr);
  REQUIRE(r);
  CHECK(got.deltas == std::vector<std::string>{"Checking."});
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
  openai_client client{test_options(server.base_url())};
  auto start = std::chrono::steady_clock::now();
  auto r = client.generate(hello(), "m", {}, nullptr);
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
  auto o = test_options(server.base_url());
  o.retry_after_max = 100ms;
  openai_client client{o};
  auto start = std::chrono::steady_clock::now();
  REQUIRE(client.generate(hello(), "m", {}, nullptr));
  CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("5xx answers are retried until the client gives up as backend_unavailable") {
  fake_openai_server server;
  for (int i = 0; i < 3; ++i)
    server.push(scripted_response::json(500, std::string{R"({"error":{"message":"boom with )"}
                                                 + api_key + "\"}}"));
  openai_client client{test_options(server.base_url())};
  auto r = client.generate(hello(), "m", {}, nullptr);
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
  openai_client client{
      test_options("http://127.0.0.1:" + std::to_string(nobody.port()) + "/v1")};
  auto r = client.generate(hello(), "m", {}, nullptr);
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
  auto o = test_options(server.base_url());
  o.request_timeout = 300ms;
  openai_client client{o};
  auto start = std::chrono::steady_clock::now();
  auto r = client.generate(hello(), "m", {}, nullptr);
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
  auto o = test_options(server.base_url());
  o.idle_timeout = 200ms;
  o.request_timeout = 5s;
  openai_client client{o};
  collected got;
  auto start = std::chrono::steady_clock::now();
  auto r = client.generate(hello(), "m", got.fn(), nullptr);
  auto took = seconds_since(start);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::timeout));
  CHECK(got.deltas == std::vector<std::string>{"first"});
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

TEST_CASE("cancelling mid-stream aborts at once") {
  fake_openai_server server;
  server.push(scripted_response::sse({{sse_data(troupe::test::content_chunk("one")), {}},
                                      {sse_data(troupe::test::content_chunk("two")), 3s},
                                      {sse_data("[DONE]"), {}}}));
  openai_client client{test_options(server.base_url())};
  std::atomic<bool> cancel{false};
  std::vector<std::string> deltas;
  std::thread canceller;
  auto start = std::chrono::steady_clock::now();
  auto r = client.generate(
      hello(), "m",
      [&](std::string_view d) {
        deltas.emplace_back(d);
        if (canceller.joinable())
          return;
        canceller = std::thread{[&] {
          std::this_thread::sleep_for(50ms);
          cancel = true;
        }};
      },
      &cancel);
  canceller.join();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::cancelled));
  CHECK(deltas == std::vector<std::string>{"one"});
  CHECK(seconds_since(start) < 1.0);
}

TEST_CASE("cancelling during the backoff ends the wait") {
  fake_openai_server server;
  server.push(scripted_response::json(503, "{}", {{"Retry-After", "2"}}));
  openai_client client{test_options(server.base_url())};
  std::atomic<bool> cancel{false};
  std::thread canceller{[&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  }};
  auto start = std::chrono::steady_clock::now();
  auto r = client.generate(hello(), "m", {}, &cancel);
  canceller.join();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::cancelled));
  CHECK(seconds_since(start) < 1.0);
  CHECK(server.requests().size() == 1);
}

TEST_CASE("a malformed tool schema is invalid_request before any network call") {
  fake_openai_server server;
  auto req = hello();
  auto* tool = req.add_tools();
  tool->set_name("t");
  tool->set_parameters_json("{\"type\": ");
  openai_client client{test_options(server.base_url())};
  auto r = client.generate(req, "m", {}, nullptr);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_request));
  CHECK(server.requests().empty());
}

TEST_CASE("list_models probes GET /models") {
  fake_openai_server server;
  openai_client client{test_options(server.base_url())};
  auto models = client.list_models();
  REQUIRE(models);
  REQUIRE(models->size() == 1);
  CHECK((*models)[0].id() == "fake-model");
  CHECK((*models)[0].provider() == "fake");
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target == "/v1/models");
}
