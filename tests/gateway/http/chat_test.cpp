// The native chat API over real loopback HTTP: POST /v1/chat and the SSE
// stream of POST /v1/chat/stream.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/gateway/http/fixture.hpp"
#include "tests/support/child_process.hpp"

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

TEST_CASE("chat answers the turn and hands the backend the principal and the request",
          "[gateway_http][unit]") {
  gateway_fixture f;
  auto r = f.post("/v1/chat",
                  R"({"session_id":"s1","message":"hi there","model":"fast","extra":{"x":1}})");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(r.header("X-Session-ID") == "s1");
  auto body = json::parse(r.body);
  CHECK(body
        == json{{"session_id", "s1"},
                {"turn_id", "t1"},
                {"message", {{"role", "assistant"}, {"content", "hello"}}},
                {"model", "test-model"},
                {"usage", {{"prompt_tokens", 3}, {"completion_tokens", 5}, {"total_tokens", 8}}},
                {"finish_reason", "stop"}});
  auto in = f.backend->inputs();
  REQUIRE(in.size() == 1);
  CHECK(in[0].principal.tenant() == "acme");
  CHECK(in[0].principal.user() == "alice");
  CHECK(in[0].session_id == "s1");
  CHECK(in[0].message == "hi there");
  CHECK(in[0].model == "fast");
  CHECK_FALSE(in[0].stream);
  CHECK(in[0].extra_messages.empty());
}

TEST_CASE("chat without a session starts one and reports its id", "[gateway_http][unit]") {
  gateway_fixture f;
  turn_script s;
  s.result = reply("calling");
  s.result.set_finish_reason("tool_calls");
  *s.result.mutable_reply()->add_tool_calls() = tool_call("c1", "search", R"({"q":1})").tool_call();
  f.backend->script_turn(s);
  auto r = f.post("/v1/chat", R"({"message":"hi","session_id":null})");
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  CHECK(body["session_id"] == "s-new");
  CHECK(r.header("X-Session-ID") == "s-new");
  CHECK(body["finish_reason"] == "tool_calls");
  CHECK(body["message"]["tool_calls"]
        == json::array({{{"id", "c1"}, {"name", "search"}, {"arguments", R"({"q":1})"}}}));
  CHECK(f.backend->inputs().at(0).session_id.empty());
}

TEST_CASE("chat refuses bodies of the wrong shape, naming the field", "[gateway_http][unit]") {
  gateway_fixture f;
  struct bad {
    std::string body;
    std::string code;
    std::string field; // in the message
  };
  for (const auto& b : std::vector<bad>{
           {R"({"message":42})", "invalid_request", "`message`"},
           {R"({"message":"hi","session_id":7})", "invalid_request", "`session_id`"},
           {R"({"message":"hi","model":["a"]})", "invalid_request", "`model`"},
           {R"({})", "invalid_request", "`message`"},
           {R"({"message":"   "})", "invalid_request", "`message`"},
           {R"({"message":""})", "invalid_request", "`message`"},
           {R"(["message"])", "invalid_request", "object"},
           {R"({"message":"hi")", "invalid_json", "JSON"},
           {std::string(100000, '['), "invalid_json", "JSON"},
       }) {
    INFO(b.body.substr(0, 60));
    auto r = f.post("/v1/chat", b.body);
    CHECK(r.status == 400);
    auto e = error_of(r.body);
    CHECK(e["code"] == b.code);
    CHECK(e["message"].get<std::string>().find(b.field) != std::string::npos);
  }
  auto form = f.post("/v1/chat", "message=hi", {alice, "Content-Type: text/plain"});
  CHECK(form.status == 415);
  CHECK(error_of(form.body)["code"] == "unsupported_media_type");
  auto charset = f.post("/v1/chat", R"({"message":"hi"})",
                        {alice, "Content-Type: Application/JSON; charset=utf-8"});
  CHECK(charset.status == 200);
  CHECK(f.backend->inputs().size() == 1); // only the last one reached the backend
}

TEST_CASE("a backend refusal passes through with its status and code", "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(fails({404, "session_not_found", "no session s9"}));
  auto r = f.post("/v1/chat", R"({"message":"hi","session_id":"s9"})");
  CHECK(r.status == 404);
  CHECK(error_of(r.body) == json{{"code", "session_not_found"}, {"message", "no session s9"}});

  f.backend->script_turn(fails({0, "", "nonsense status"}));
  r = f.post("/v1/chat", R"({"message":"hi"})");
  CHECK(r.status == 502);
  CHECK(error_of(r.body)["code"] == "backend_error");

  f.backend->throw_on_chat = true;
  r = f.post("/v1/chat", R"({"message":"hi"})");
  CHECK(r.status == 500);
  CHECK(error_of(r.body) == json{{"code", "internal_error"}, {"message", "backend exploded"}});
}

TEST_CASE("the stream sends delta, tool_call, tool_result and done events in order",
          "[gateway_http][unit]") {
  gateway_fixture f;
  turn_script s;
  s.chunks = {delta("Hel"), delta("lo"), tool_call("c1", "clock", "{}"),
              tool_result("c1", "clock", "12:00"), delta("!")};
  s.result = reply("Hello!");
  f.backend->script_turn(s);
  auto r = f.post("/v1/chat/stream", R"({"message":"time?","session_id":"s1"})");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/event-stream");
  CHECK(r.header("Cache-Control") == "no-cache");
  CHECK(r.header("X-Accel-Buffering") == "no");
  CHECK(r.header("Transfer-Encoding") == "chunked");
  CHECK(r.header("X-Session-ID") == "s1");
  auto events = sse_events(r.body);
  REQUIRE(events.size() == 6);
  CHECK(events[0].first == "delta");
  CHECK(json::parse(events[0].second)
        == json{{"session_id", "s1"}, {"turn_id", "t1"}, {"text", "Hel"}});
  CHECK(events[1].first == "delta");
  CHECK(json::parse(events[1].second)["text"] == "lo");
  CHECK(events[2].first == "tool_call");
  CHECK(json::parse(events[2].second)
        == json{{"id", "c1"}, {"name", "clock"}, {"arguments", "{}"}});
  CHECK(events[3].first == "tool_result");
  CHECK(json::parse(events[3].second)
        == json{
            {"tool_call_id", "c1"}, {"name", "clock"}, {"content", "12:00"}, {"is_error", false}});
  CHECK(events[4].first == "delta");
  CHECK(events[5].first == "done");
  auto done = json::parse(events[5].second);
  CHECK(done["message"]["content"] == "Hello!");
  CHECK(done["turn_id"] == "t1");
  CHECK(done["usage"]["total_tokens"] == 8);
  CHECK(f.backend->inputs().at(0).stream);
}

TEST_CASE("a connection carries on after a stream, and HTTP/1.0 streams until close",
          "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(answers(reply("one")));
  raw_connection c{f.port()};
  c.send(raw_post("/v1/chat/stream", R"({"message":"hi"})"));
  auto stream = c.read_until("\r\n0\r\n\r\n"); // the last chunk
  REQUIRE(stream);
  CHECK(stream->find("event: done") != std::string::npos);
  c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme:alice\r\n\r\n");
  auto next = c.read_response();
  REQUIRE(next);
  CHECK(next->status == 200);

  f.backend->script_turn(answers(reply("two")));
  raw_connection old{f.port()};
  auto request = raw_post("/v1/chat/stream", R"({"message":"hi"})");
  request.replace(request.find("HTTP/1.1"), 8, "HTTP/1.0");
  old.send(request);
  auto all = old.read_until_closed();
  REQUIRE(all);
  CHECK(all->rfind("HTTP/1.0 200", 0) == 0);
  CHECK(all->find("Transfer-Encoding") == std::string::npos);
  CHECK(all->find("event: done\ndata: {") != std::string::npos);
}

TEST_CASE("each event is flushed as it comes, before the turn ends", "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(hangs_after({delta("first")}));
  raw_connection c{f.port()};
  c.send(raw_post("/v1/chat/stream", R"({"message":"hi"})"));
  auto head = c.read_until("\r\n\r\n");
  REQUIRE(head);
  CHECK(head->rfind("HTTP/1.1 200", 0) == 0);
  CHECK(head->find("X-Session-ID: s-new") != std::string::npos);
  CHECK(
      c.read_until("event: delta\ndata: {\"session_id\":\"s-new\",\"text\":\"first\"").has_value());
  CHECK(f.backend->finished() == 0);
}

TEST_CASE("a waiting stream gets a ping comment every heartbeat interval", "[gateway_http][unit]") {
  gateway::http::server_options o;
  o.heartbeat_interval = 100ms;
  gateway_fixture f{o};
  turn_script s;
  s.chunks = {delta("a")};
  s.delay = 350ms;
  f.backend->script_turn(s);
  auto r = f.post("/v1/chat/stream", R"({"message":"hi"})");
  REQUIRE(r.status == 200);
  auto events = sse_events(r.body);
  REQUIRE(events.size() >= 4);
  CHECK(events.front() == std::pair<std::string, std::string>{":", "ping"});
  CHECK(events.back().first == "done");
  auto pings = std::count_if(events.begin(), events.end(), [](auto& e) { return e.first == ":"; });
  CHECK(pings >= 4); // ~700 ms of waiting at 100 ms; loaded machines ping less often
}

TEST_CASE("a stream refused before its first chunk is a plain JSON error", "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(fails({404, "model_unknown", "no model zz"}));
  auto r = f.post("/v1/chat/stream", R"({"message":"hi","model":"zz"})");
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/json");
  CHECK(error_of(r.body)["code"] == "model_unknown");
}

TEST_CASE("a stream that fails after its first chunk ends with an error event",
          "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(
      fails_after({delta("par")}, {503, "backend_unavailable", "inference went away"}));
  auto r = f.post("/v1/chat/stream", R"({"message":"hi"})");
  REQUIRE(r.status == 200);
  auto events = sse_events(r.body);
  REQUIRE(events.size() == 2);
  CHECK(events[0].first == "delta");
  CHECK(events[1].first == "error");
  CHECK(json::parse(events[1].second)
        == json{{"code", "backend_unavailable"}, {"message", "inference went away"}});
  // The connection stays usable: the stream ended with its last chunk.
  CHECK(f.get("/v1/models").status == 200);
}

TEST_CASE("a client that hangs up mid-stream cancels the turn", "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(hangs_after({delta("first")}));
  auto c = f.streaming();
  CHECK(f.backend->cancelled() == 0);
  c.reset();
  CHECK(wait_until(2s, [&] { return f.backend->cancelled() == 1; }));
  CHECK(wait_until(2s, [&] { return f.backend->finished() == 1; }));
  CHECK(sample(metrics::render(*f.registry), "troupe_gateway_active_streams") == 0);
}

TEST_CASE("a client that hangs up while a plain chat waits cancels the turn too",
          "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(hangs_after({}));
  {
    raw_connection c{f.port()};
    c.send(raw_post("/v1/chat", R"({"message":"hi"})"));
    REQUIRE(wait_until(2s, [&] { return f.backend->inputs().size() == 1; }));
  }
  CHECK(wait_until(2s, [&] { return f.backend->cancelled() == 1; }));
}

TEST_CASE("back-to-back turns on keep-alive connections never stall, even answered inline",
          "[gateway_http][unit]") {
  // The hang-up watch of one turn may complete just as the next request
  // arrives; it must not touch the socket then (it once blocked the strand).
  // More client threads than cores widen that window.
  gateway_fixture f;
  f.backend->answer_inline = true;
  auto request = raw_post("/v1/chat", R"({"message":"hi"})");
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      raw_connection c{f.port()};
      for (int i = 0; i < 2000; ++i) {
        c.send(request);
        auto r = c.read_response(false, 2s);
        if (!r || r->status != 200)
          return;
        ++answered;
      }
    });
  for (auto& t : clients)
    t.join();
  CHECK(answered == 8000);
}

TEST_CASE("a turn past the turn timeout is cancelled and answered 504", "[gateway_http][unit]") {
  gateway::http::server_options o;
  o.turn_timeout = 200ms;
  gateway_fixture f{o};
  f.backend->script_turn(hangs_after({}));
  auto r = f.post("/v1/chat", R"({"message":"hi"})");
  CHECK(r.status == 504);
  CHECK(error_of(r.body)["code"] == "turn_timeout");
  CHECK(f.backend->cancelled() == 1);

  f.backend->script_turn(hangs_after({delta("a")}));
  r = f.post("/v1/chat/stream", R"({"message":"hi"})");
  REQUIRE(r.status == 200);
  auto events = sse_events(r.body);
  REQUIRE(events.size() == 2);
  CHECK(events[1].first == "error");
  CHECK(json::parse(events[1].second)["code"] == "turn_timeout");
  CHECK(f.backend->cancelled() == 2);
}

TEST_CASE("stop cancels running turns and closes their streams promptly", "[gateway_http][unit]") {
  gateway_fixture f;
  f.backend->script_turn(hangs_after({delta("first")}));
  auto c = f.streaming();
  auto t0 = std::chrono::steady_clock::now();
  f.server->stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(f.backend->cancelled() == 1);
  CHECK(c->read_until_closed(1s).has_value());
  CHECK_FALSE(port_open(f.port()));
}
