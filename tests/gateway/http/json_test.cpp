// The gateway HTTP pieces that need no socket: routing, query strings,
// request parsing and the rate limiter (with its clock injected).
#include <catch2/catch.hpp>

#include "actors/gateway/http/chat_json.hpp"
#include "actors/gateway/http/openai_json.hpp"
#include "actors/gateway/http/rate_limiter.hpp"
#include "actors/gateway/http/routes.hpp"

using namespace troupe::gateway::http;
using namespace std::chrono_literals;
using json = nlohmann::json;

TEST_CASE("routes match patterns and decode the id", "[gateway_http][unit]") {
  auto m = match_route("/v1/sessions/abc%2Fdef/messages?limit=3");
  REQUIRE(m.r != nullptr);
  CHECK(m.r->pattern == "/v1/sessions/{id}/messages");
  CHECK(m.id == "abc/def");
  CHECK(match_route("/v1/models/openai/gpt-4o").id == "openai/gpt-4o");
  CHECK(match_route("/v1/models/").r == nullptr);
  CHECK(match_route("/v1/sessions/").r == nullptr);
  CHECK(match_route("/v1/sessions/a/b").r == nullptr);
  CHECK(match_route("/v1/chat/").r == nullptr);
  CHECK(match_route("/v1/sessions/%zz").id == "%zz"); // a malformed escape stays as it is
  CHECK(style_for("/v1/chat/completions") == error_style::openai);
  CHECK(style_for("/v1/chat") == error_style::native);
  CHECK(style_for("/elsewhere") == error_style::native);
}

TEST_CASE("query parameters are found and decoded", "[gateway_http][unit]") {
  CHECK(query_param("/x?limit=5&before=a%20b", "before") == "a b");
  CHECK(query_param("/x?limit=5&before=a+b", "before") == "a b");
  CHECK(query_param("/x?limit", "limit") == "");
  CHECK(query_param("/x?limit=5", "before") == std::nullopt);
  CHECK(query_param("/x", "limit") == std::nullopt);
  CHECK(query_param("/x?a=1&&b=2&", "b") == "2");
  CHECK(query_param("/x?a=%", "a") == "%");
}

TEST_CASE("a chat request reads message, session and model", "[gateway_http][unit]") {
  auto ok = parse_chat_request(json{{"message", "hi"}, {"model", nullptr}, {"x", 1}});
  REQUIRE(std::holds_alternative<troupe::gateway::turn_input>(ok));
  CHECK(std::get<troupe::gateway::turn_input>(ok).model.empty());
  auto long_id = parse_chat_request(json{{"message", "hi"}, {"session_id", std::string(257, 's')}});
  REQUIRE(std::holds_alternative<http_error>(long_id));
  CHECK(std::get<http_error>(long_id).param == "session_id");
}

TEST_CASE("a completion request keeps only system messages besides the last",
          "[gateway_http][unit]") {
  auto body = json::parse(R"({"model":"m","messages":[
      {"role":"tool","content":null},{"role":"system","content":"s"},{"role":"user","content":"u"}]})");
  auto got = parse_completion_request(body, "");
  REQUIRE(std::holds_alternative<completion_request>(got));
  auto& req = std::get<completion_request>(got);
  CHECK(req.in.message == "u");
  CHECK(req.in.extra_messages.size() == 1);
  auto header = parse_completion_request(body, std::string(300, 'h'));
  REQUIRE(std::holds_alternative<http_error>(header));
  CHECK(std::get<http_error>(header).param == "X-Session-ID");
}

TEST_CASE("error bodies come in both shapes", "[gateway_http][unit]") {
  http_error e = invalid_field("model", "is required");
  CHECK(json::parse(error_text(e, error_style::native))
        == json{{"error", {{"code", "invalid_request"}, {"message", "`model`: is required"}}}});
  CHECK(json::parse(error_text(e, error_style::openai))
        == json{{"error",
                 {{"message", "`model`: is required"},
                  {"type", "invalid_request_error"},
                  {"param", "model"},
                  {"code", "invalid_request"}}}});
  CHECK(openai_error_type(401) == "authentication_error");
  CHECK(openai_error_type(403) == "permission_error");
  CHECK(openai_error_type(429) == "rate_limit_error");
  CHECK(openai_error_type(502) == "server_error");
  CHECK(from_api({200, "odd", "x"}).status == 502);
}

TEST_CASE("the rate limiter refills at its rate up to its burst", "[gateway_http][unit]") {
  rate_limiter limiter{2, 2};
  auto t = rate_limiter::clock::time_point{} + 1h;
  CHECK_FALSE(limiter.take("a", t));
  CHECK_FALSE(limiter.take("a", t));
  auto wait = limiter.take("a", t);
  REQUIRE(wait);
  CHECK(*wait == 500ms);
  CHECK_FALSE(limiter.take("b", t));
  CHECK_FALSE(limiter.take("a", t + 500ms));
  CHECK(limiter.take("a", t + 500ms));
  CHECK_FALSE(limiter.take("a", t + 10s)); // refilled, but never beyond the burst:
  CHECK_FALSE(limiter.take("a", t + 10s));
  CHECK(limiter.take("a", t + 10s));

  rate_limiter off{0, 0};
  for (int i = 0; i < 100; ++i)
    CHECK_FALSE(off.take("a", t));
}

TEST_CASE("the rate limiter forgets full buckets once it holds many", "[gateway_http][unit]") {
  rate_limiter limiter{1, 1};
  auto t = rate_limiter::clock::time_point{} + 1h;
  for (int i = 0; i < 10000; ++i)
    (void)limiter.take("k" + std::to_string(i), t + std::chrono::seconds{i});
  // "k9999" took its token just now: still empty, so it was kept.
  CHECK(limiter.take("k9999", t + 9999s));
}
