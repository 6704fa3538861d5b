// The OpenAI-compatible API over real loopback HTTP: /v1/chat/completions
// (plain and streamed) and /v1/models, errors in OpenAI's shape.
#include <catch2/catch.hpp>

#include "tests/gateway/http/fixture.hpp"

using namespace troupe;
using namespace troupe::test;
using json = nlohmann::json;

namespace {

/// The OpenAI error object; checks every field the SDKs read.
json openai_error_of(const std::string& body) {
  auto j = json::parse(body);
  REQUIRE(j.contains("error"));
  const auto& e = j["error"];
  CHECK(e["message"].is_string());
  CHECK(e["type"].is_string());
  CHECK(e.contains("param"));
  CHECK(e["code"].is_string());
  return e;
}

/// The JSON of each `data:` line but the final [DONE], which must be last.
std::vector<json> chunks_of(const std::string& body) {
  auto events = sse_events(body);
  REQUIRE(!events.empty());
  CHECK(events.back().second == "[DONE]");
  std::vector<json> out;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    CHECK(events[i].first.empty()); // no named events on the OpenAI stream
    out.push_back(json::parse(events[i].second));
  }
  return out;
}

const std::string two_turns = R"({
  "model": "gpt-4o",
  "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "earlier question"},
    {"role": "assistant", "content": "earlier answer"},
    {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
    {"role": "user", "content": "What is 2+2?"}
  ],
  "temperature": 0.2, "max_tokens": 50, "logit_bias": {"1": 2}
})";

} // namespace

TEST_CASE("a completion answers OpenAI's chat.completion object", "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(answers(reply("4")));
  auto r = f.post("/v1/chat/completions", two_turns);
  REQUIRE(r.status == 200);
  CHECK(r.header("X-Session-ID") == "s-new");
  auto body = json::parse(r.body);
  CHECK(body["id"] == "chatcmpl-t1");
  CHECK(body["object"] == "chat.completion");
  CHECK(body["created"].is_number_integer());
  CHECK(body["created"].get<int64_t>() > 1'700'000'000);
  CHECK(body["model"] == "test-model");
  CHECK(
      body["choices"]
      == json::array({{{"index", 0},
                       {"message", {{"role", "assistant"}, {"content", "4"}, {"refusal", nullptr}}},
                       {"finish_reason", "stop"},
                       {"logprobs", nullptr}}}));
  CHECK(body["usage"] == json{{"prompt_tokens", 3}, {"completion_tokens", 5}, {"total_tokens", 8}});

  auto in = f.backend->inputs().at(0);
  CHECK(in.message == "What is 2+2?");
  CHECK(in.model == "gpt-4o");
  CHECK(in.session_id.empty()); // neither X-Session-ID nor user: a new session
  CHECK_FALSE(in.stream);
  REQUIRE(in.extra_messages.size() == 2);
  CHECK(in.extra_messages[0].role() == "system");
  CHECK(in.extra_messages[0].content() == "Be brief.");
  CHECK(in.extra_messages[1].role() == "system");
  CHECK(in.extra_messages[1].content() == "No emoji.");
  CHECK(in.principal.user() == "alice");
}

TEST_CASE("a completion picks its session from X-Session-ID, else from user",
          "[gateway_http][unit]") {
  gateway_fixture f;
  const std::string body =
      R"({"model":"m","user":"key-7","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})";
  auto by_user = f.post("/v1/chat/completions", body);
  REQUIRE(by_user.status == 200);
  CHECK(by_user.header("X-Session-ID") == "key-7");
  auto by_header = f.post("/v1/chat/completions", body,
                          {alice, "Content-Type: application/json", "X-Session-ID: s42"});
  REQUIRE(by_header.status == 200);
  auto in = f.backend->inputs();
  REQUIRE(in.size() == 2);
  CHECK(in[0].session_id.empty());
  CHECK(in[0].session_key == "key-7");
  CHECK(in[0].message == "a\nb");
  CHECK(in[1].session_id == "s42");
  CHECK(in[1].session_key.empty());
}

TEST_CASE("a completion that calls tools answers tool_calls and null content",
          "[gateway_http][unit]") {
  gateway_fixture f;
  turn_script s;
  s.result = reply("");
  s.result.set_finish_reason("tool_calls");
  *s.result.mutable_reply()->add_tool_calls() =
      tool_call("c1", "search", R"({"q":"x"})").tool_call();
  f.backend->script_turn(s);
  auto r = f.post("/v1/chat/completions",
                  R"({"model":"m","messages":[{"role":"user","content":"go"}]})");
  REQUIRE(r.status == 200);
  auto choice = json::parse(r.body)["choices"][0];
  CHECK(choice["finish_reason"] == "tool_calls");
  CHECK(choice["message"]["content"].is_null());
  CHECK(choice["message"]["tool_calls"]
        == json::array({{{"id", "c1"},
                         {"type", "function"},
                         {"function", {{"name", "search"}, {"arguments", R"({"q":"x"})"}}}}}));
}

TEST_CASE("a streamed completion sends the chunk sequence of the spec and ends with [DONE]",
          "[gateway_http][unit]") {
  gateway_fixture f;
  turn_script s;
  s.chunks = {delta("Hel"), tool_call("c1", "clock", "{}"), tool_result("c1", "clock", "12:00"),
              tool_call("c2", "calc", "1+1"), delta("lo")};
  s.result = reply("Hello");
  f.backend->script_turn(s);
  auto r = f.post(
      "/v1/chat/completions",
      R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/event-stream");
  auto chunks = chunks_of(r.body);
  REQUIRE(chunks.size() == 7);
  for (const auto& c : chunks) {
    CHECK(c["id"] == "chatcmpl-t1");
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["created"].is_number_integer());
    CHECK(c.contains("usage"));
  }
  auto choice = [&](size_t i) { return chunks[i]["choices"][0]; };
  CHECK(chunks[0]["model"] == "gpt-4o");
  CHECK(choice(0)
        == json{{"index", 0},
                {"delta", {{"role", "assistant"}, {"content", ""}}},
                {"logprobs", nullptr},
                {"finish_reason", nullptr}});
  CHECK(chunks[0]["usage"].is_null());
  CHECK(choice(1)["delta"] == json{{"content", "Hel"}});
  CHECK(choice(2)["delta"]
        == json{{"tool_calls",
                 {{{"index", 0},
                   {"id", "c1"},
                   {"type", "function"},
                   {"function", {{"name", "clock"}, {"arguments", "{}"}}}}}}});
  CHECK(choice(3)["delta"]["tool_calls"][0]["index"] == 1);
  CHECK(choice(4)["delta"] == json{{"content", "lo"}});
  CHECK(choice(5)["delta"] == json::object());
  CHECK(choice(5)["finish_reason"] == "stop");
  CHECK(chunks[6]["choices"] == json::array());
  CHECK(chunks[6]["usage"]
        == json{{"prompt_tokens", 3}, {"completion_tokens", 5}, {"total_tokens", 8}});
  CHECK(f.backend->inputs().at(0).stream);
}

TEST_CASE("a streamed completion without include_usage has no usage at all",
          "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(answers(reply("ok"))); // no chunks: role and finish come with done
  auto r = f.post("/v1/chat/completions",
                  R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(r.status == 200);
  auto chunks = chunks_of(r.body);
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0]["choices"][0]["delta"]["role"] == "assistant");
  CHECK(chunks[1]["choices"][0]["finish_reason"] == "stop");
  CHECK(chunks[1]["model"] == "test-model");
  for (const auto& c : chunks)
    CHECK_FALSE(c.contains("usage"));
}

TEST_CASE("a streamed completion that fails midway sends an OpenAI error data line",
          "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(
      fails_after({delta("par")}, {503, "backend_unavailable", "inference went away"}));
  auto r = f.post("/v1/chat/completions",
                  R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(r.status == 200);
  auto events = sse_events(r.body);
  REQUIRE(events.size() == 3); // role, content, error; no [DONE]
  auto e = openai_error_of(events[2].second);
  CHECK(e
        == json{{"message", "inference went away"},
                {"type", "server_error"},
                {"param", nullptr},
                {"code", "backend_unavailable"}});
}

TEST_CASE("completion errors have OpenAI's shape and name the param", "[gateway_http][unit]") {
  gateway_fixture f;
  struct bad {
    std::string body;
    std::string param;
  };
  for (
      const auto& b : std::vector<bad>{
          {R"({"messages":[{"role":"user","content":"hi"}]})", "model"},
          {R"({"model":3,"messages":[{"role":"user","content":"hi"}]})", "model"},
          {R"({"model":"m"})", "messages"},
          {R"({"model":"m","messages":[]})", "messages"},
          {R"({"model":"m","messages":{"role":"user"}})", "messages"},
          {R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"x"}]})",
           "messages"},
          {R"({"model":"m","messages":[{"content":"hi"}]})", "messages[0].role"},
          {R"({"model":"m","messages":[{"role":"user","content":7}]})", "messages[0].content"},
          {R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})",
           "messages[0].content[0]"},
          {R"({"model":"m","messages":[{"role":"user","content":""}]})", "messages[0].content"},
          {R"({"model":"m","stream":"yes","messages":[{"role":"user","content":"hi"}]})", "stream"},
          {R"({"model":"m","stream":true,"stream_options":{"include_usage":1},"messages":[{"role":"user","content":"hi"}]})",
           "stream_options.include_usage"},
          {R"({"model":"m","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})",
           "stream_options"},
          {R"({"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]})", "n"},
          {R"({"model":"m","temperature":"hot","messages":[{"role":"user","content":"hi"}]})",
           "temperature"},
          {R"({"model":"m","user":5,"messages":[{"role":"user","content":"hi"}]})", "user"},
      }) {
    INFO(b.body);
    auto r = f.post("/v1/chat/completions", b.body);
    CHECK(r.status == 400);
    auto e = openai_error_of(r.body);
    CHECK(e["type"] == "invalid_request_error");
    CHECK(e["code"] == "invalid_request");
    CHECK(e["param"] == b.param);
  }
  auto broken = f.post("/v1/chat/completions", "{");
  CHECK(broken.status == 400);
  CHECK(openai_error_of(broken.body)["code"] == "invalid_json");
  CHECK(f.backend->inputs().empty());

  auto anonymous = f.post("/v1/chat/completions", "{}", {"Content-Type: application/json"});
  CHECK(anonymous.status == 401);
  CHECK(anonymous.header("WWW-Authenticate") == "Bearer");
  auto e = openai_error_of(anonymous.body);
  CHECK(e["type"] == "authentication_error");
  CHECK(e["code"] == "unauthenticated");
  CHECK(e["param"].is_null());

  f.backend->script_turn(fails({404, "model_unknown", "no model zz"}));
  auto unknown = f.post("/v1/chat/completions",
                        R"({"model":"zz","messages":[{"role":"user","content":"hi"}]})");
  CHECK(unknown.status == 404);
  CHECK(openai_error_of(unknown.body)
        == json{{"message", "no model zz"},
                {"type", "invalid_request_error"},
                {"param", nullptr},
                {"code", "model_unknown"}});
}

TEST_CASE("models lists what the backend serves, and one model by id", "[gateway_http][unit]") {
  gateway_fixture f;
  auto* a = f.backend->models.add_models();
  a->set_id("openai/gpt-4o");
  a->set_provider("openai");
  a->set_owned_by("openai");
  a->set_created_unix(1715367049);
  auto* b = f.backend->models.add_models();
  b->set_id("default");
  b->set_provider("troupe");
  auto r = f.get("/v1/models");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)
        == json{
            {"object", "list"},
            {"data",
             {{{"id", "openai/gpt-4o"},
               {"object", "model"},
               {"created", 1715367049},
               {"owned_by", "openai"}},
              {{"id", "default"}, {"object", "model"}, {"created", 0}, {"owned_by", "troupe"}}}}});
  CHECK(f.backend->last_principal().tenant() == "acme");

  auto one = f.get("/v1/models/openai/gpt-4o");
  REQUIRE(one.status == 200);
  CHECK(json::parse(one.body)["id"] == "openai/gpt-4o");
  CHECK(f.get("/v1/models/openai%2Fgpt-4o").status == 200);

  auto missing = f.get("/v1/models/nope");
  CHECK(missing.status == 404);
  auto e = openai_error_of(missing.body);
  CHECK(e["code"] == "model_not_found");
  CHECK(e["param"] == "model");
  CHECK(e["type"] == "invalid_request_error");
}
