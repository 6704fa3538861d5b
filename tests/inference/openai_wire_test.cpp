#include "actors/inference/openai_wire.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/inference/errc.hpp"
#include "tests/inference/requests.hpp"

using nlohmann::json;
using troupe::inference::errc;
using troupe::inference::is;
namespace openai = troupe::inference::openai;

TEST_CASE("the request body carries roles, tool calls, tool results and tools") {
  auto req = troupe::test::make_request({{"system", "be brief"}, {"user", "weather?"}});
  auto& call_msg = troupe::test::add_message(req, "assistant", "");
  auto* call = call_msg.add_tool_calls();
  call->set_id("call_1");
  call->set_name("weather");
  call->set_arguments_json(R"({"city":"Oslo"})");
  troupe::test::add_message(req, "tool", "sunny").set_tool_call_id("call_1");
  auto* tool = req.add_tools();
  tool->set_name("weather");
  tool->set_description("current weather");
  tool->set_parameters_json(R"({"type":"object","properties":{"city":{"type":"string"}}})");
  req.set_max_tokens(50);

  auto body = openai::request_body(req, "gpt-x", false);
  REQUIRE(body);
  auto j = json::parse(*body);
  CHECK(j["model"] == "gpt-x");
  REQUIRE(j["messages"].size() == 4);
  CHECK(j["messages"][0] == json{{"role", "system"}, {"content", "be brief"}});
  CHECK(j["messages"][2]["content"].is_null());
  CHECK(j["messages"][2]["tool_calls"][0]["function"]["arguments"] == R"({"city":"Oslo"})");
  CHECK(j["messages"][2]["tool_calls"][0]["type"] == "function");
  CHECK(j["messages"][3]["tool_call_id"] == "call_1");
  CHECK(j["tools"][0]["function"]["parameters"]["properties"]["city"]["type"] == "string");
  CHECK(j["max_tokens"] == 50);
  CHECK_FALSE(j.contains("temperature"));
  CHECK_FALSE(j.contains("stream"));
}

TEST_CASE("a streamed request asks for usage and a set temperature is sent, zero included") {
  auto req = troupe::test::make_request({{"user", "hi"}});
  req.set_temperature(0);
  auto j = json::parse(*openai::request_body(req, "m", true));
  CHECK(j["stream"] == true);
  CHECK(j["stream_options"]["include_usage"] == true);
  CHECK(j["temperature"] == 0.0);
}

TEST_CASE("requests no provider could take are invalid_request") {
  CHECK(is(openai::request_body({}, "m", false).error(), errc::invalid_request));
  auto bad_role = troupe::test::make_request({{"wizard", "hi"}});
  CHECK(is(openai::request_body(bad_role, "m", false).error(), errc::invalid_request));
  for (const char* params : {"{not json", "[1,2]", "\"object\""}) {
    auto req = troupe::test::make_request({{"user", "hi"}});
    auto* tool = req.add_tools();
    tool->set_name("t");
    tool->set_parameters_json(params);
    CHECK(is(openai::request_body(req, "m", false).error(), errc::invalid_request));
  }
  auto unnamed = troupe::test::make_request({{"user", "hi"}});
  unnamed.add_tools();
  CHECK(is(openai::request_body(unnamed, "m", false).error(), errc::invalid_request));
}

TEST_CASE("a tool without parameters gets an empty object schema") {
  auto req = troupe::test::make_request({{"user", "hi"}});
  req.add_tools()->set_name("now");
  auto j = json::parse(*openai::request_body(req, "m", false));
  CHECK(j["tools"][0]["function"]["parameters"]["type"] == "object");
}

TEST_CASE("a completion with tool calls parses, arguments given as an object included") {
  auto r = openai::parse_completion(R"({"model":"m1","choices":[{"index":0,
    "message":{"role":"assistant","content":null,"tool_calls":[
      {"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
      {"id":"c2","type":"function","function":{"name":"g","arguments":{"b":2}}}]},
    "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9}})");
  REQUIRE(r);
  CHECK(r->model() == "m1");
  CHECK(r->message().content().empty());
  REQUIRE(r->message().tool_calls_size() == 2);
  CHECK(r->message().tool_calls(0).arguments_json() == R"({"a":1})");
  CHECK(r->message().tool_calls(1).arguments_json() == R"({"b":2})");
  CHECK(r->finish_reason() == "tool_calls");
  CHECK(r->usage().total_tokens() == 9);
}

TEST_CASE("bodies that are not completions are malformed_response") {
  for (const char* body :
       {"", "<html>", "[]", "{}", R"({"choices":[]})", R"({"choices":5})",
        R"({"choices":[{"message":{"content":7}}]})",
        R"({"choices":[{"message":{"content":"x"}}],"usage":{"total_tokens":"many"}})"}) {
    INFO(body);
    CHECK(is(openai::parse_completion(body).error(), errc::malformed_response));
  }
}

TEST_CASE("the provider's error message is read from an OpenAI error body") {
  CHECK(
      openai::error_message(
          R"({"error":{"message":"bad model","type":"invalid_request_error","code":"model_not_found"}})")
      == "bad model [type=invalid_request_error] [code=model_not_found]");
  CHECK(openai::error_message(R"({"error":"plain"})") == "plain");
  CHECK(openai::error_message("") == "(empty body)");
  CHECK(openai::error_message("oops\x01\xff") == "oops??");
  CHECK(openai::error_message(std::string(500, 'x')).size() < 220);
}

TEST_CASE("the model list parses and a wrong shape is malformed_response") {
  auto models = openai::parse_model_list(
      R"({"data":[{"id":"a","owned_by":"o","created":5},{"id":"b"}]})", "p");
  REQUIRE(models);
  REQUIRE(models->size() == 2);
  CHECK((*models)[0].provider() == "p");
  CHECK((*models)[0].created_unix() == 5);
  CHECK(is(openai::parse_model_list(R"({"data":[{"name":"a"}]})", "p").error(),
           errc::malformed_response));
  CHECK(is(openai::parse_model_list("nope", "p").error(), errc::malformed_response));
}

TEST_CASE("a stream assembler joins tool-call fragments by index and ignores data after DONE") {
  openai::stream_assembler a;
  std::vector<std::string> deltas;
  auto on_delta = [&](std::string_view d) { deltas.emplace_back(d); };
  for (
      const char* data :
      {R"({"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me"}}]})",
       R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"c","function":{"name":"g","arguments":""}}]}}]})",
       R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\"x\""}}]}}]})",
       R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}},{"index":1,"function":{"arguments":"{}"}}]}}]})",
       R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
       R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})",
       "[DONE]", "not even json"})
    REQUIRE_FALSE(a.add(data, on_delta));
  CHECK(a.complete());
  auto r = a.take();
  CHECK(deltas == std::vector<std::string>{"Let me"});
  CHECK(r.message().content() == "Let me");
  REQUIRE(r.message().tool_calls_size() == 2);
  CHECK(r.message().tool_calls(0).id() == "call_0"); // the provider sent none
  CHECK(r.message().tool_calls(0).name() == "f");
  CHECK(r.message().tool_calls(0).arguments_json() == R"({"x":1})");
  CHECK(r.message().tool_calls(1).id() == "c");
  CHECK(r.usage().total_tokens() == 3);
  CHECK(r.model() == "m");
}

TEST_CASE("a stream chunk that is not JSON or carries an error fails the stream") {
  openai::stream_assembler a;
  CHECK(is(a.add("{oops", {}), errc::malformed_response));
  CHECK(is(a.add(R"({"choices":[{"delta":{"tool_calls":[{"function":{}}]}}]})", {}),
           errc::malformed_response)); // no index
  CHECK(is(a.add(R"({"error":{"message":"overloaded"}})", {}), errc::provider_error));
  CHECK_FALSE(a.complete());
}

TEST_CASE("message text reaches the provider escaped, and bytes that are not UTF-8 as U+FFFD") {
  auto req = troupe::test::make_request(
    {{"system", "say \"hi\"\\n"}, {"user", std::string{"tab\there\nnul\x01 end"}},
     {"assistant", std::string{"bad \xff byte"}}});
  auto body = openai::request_body(req, "m\"odel", false);
  REQUIRE(body);
  auto j = json::parse(*body); // throws if the body is not JSON
  CHECK(j["model"] == "m\"odel");
  REQUIRE(j["messages"].size() == 3);
  CHECK(j["messages"][0] == json{{"role", "system"}, {"content", "say \"hi\"\\n"}});
  CHECK(j["messages"][1]["content"] == std::string{"tab\there\nnul\x01 end"});
  CHECK(j["messages"][2]["content"] == "bad \xEF\xBF\xBD byte");
}
