#include "actors/inference/dev_model.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "actors/inference/errc.hpp"
#include "tests/inference/requests.hpp"

using troupe::inference::dev_model;
using troupe::inference::errc;
using troupe::inference::is;
using troupe::test::make_request;

namespace {

struct answer {
  troupe::v1::GenerateResult result;
  std::vector<std::string> deltas;
};

answer ask(const troupe::v1::GenerateRequest& req) {
  dev_model model;
  answer a;
  auto r = model.generate(
      req, "troupe-dev", [&](std::string_view d) { a.deltas.emplace_back(d); }, nullptr);
  REQUIRE(r);
  a.result = std::move(*r);
  return a;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts)
    out += p;
  return out;
}

auto tool_conversation() {
  auto req = make_request(
      {{"user", "hello"}, {"assistant", "hi"}, {"user", R"(/tool search {"q": "cats"})"}});
  return req;
}

} // namespace

TEST_CASE("troupe-dev echoes the last user message with the turn count, in word deltas") {
  auto a = ask(make_request(
      {{"system", "be nice"}, {"user", "first"}, {"assistant", "ok"}, {"user", "how are you"}}));
  CHECK(a.result.message().role() == "assistant");
  CHECK(a.result.message().content() == "troupe-dev heard: how are you (turn 2)");
  CHECK(a.deltas.size() == 7);
  CHECK(joined(a.deltas) == a.result.message().content());
  CHECK(a.result.finish_reason() == "stop");
  CHECK(a.result.model() == "troupe-dev");
  CHECK(a.result.usage().prompt_tokens() == 7);
  CHECK(a.result.usage().completion_tokens() == 7);
  CHECK(a.result.usage().total_tokens() == 14);
}

TEST_CASE("troupe-dev answers the same conversation the same way, and history shows") {
  auto req = make_request({{"user", "ping"}});
  auto a = ask(req);
  auto b = ask(req);
  CHECK(a.result.SerializeAsString() == b.result.SerializeAsString());
  CHECK(a.deltas == b.deltas);
  auto longer = ask(make_request({{"user", "ping"}, {"assistant", "pong"}, {"user", "ping"}}));
  CHECK(longer.result.message().content() != a.result.message().content());
}

TEST_CASE("troupe-dev calls the tool a /tool command names, with a stable id") {
  auto a = ask(tool_conversation());
  CHECK(a.result.finish_reason() == "tool_calls");
  CHECK(a.result.message().content().empty());
  CHECK(a.deltas.empty());
  REQUIRE(a.result.message().tool_calls_size() == 1);
  const auto& call = a.result.message().tool_calls(0);
  CHECK(call.name() == "search");
  CHECK(call.arguments_json() == R"({"q": "cats"})");
  CHECK(call.id().rfind("call_", 0) == 0);
  CHECK(ask(tool_conversation()).result.message().tool_calls(0).id() == call.id());
  auto other = ask(make_request({{"user", R"(/tool search {"q": "cats"})"}}));
  CHECK(other.result.message().tool_calls(0).id() != call.id());
}

TEST_CASE("troupe-dev gives a /tool command without arguments an empty object") {
  auto a = ask(make_request({{"user", "/tool now"}}));
  REQUIRE(a.result.message().tool_calls_size() == 1);
  CHECK(a.result.message().tool_calls(0).arguments_json() == "{}");
  auto bare = ask(make_request({{"user", "/tool "}}));
  CHECK(bare.result.message().tool_calls_size() == 0); // no name: just text
}

TEST_CASE("troupe-dev quotes a tool result that ends the conversation") {
  auto req = tool_conversation();
  auto call = ask(req).result.message();
  *req.add_messages() = call;
  auto& result = troupe::test::add_message(req, "tool", "3 cats found");
  result.set_tool_call_id(call.tool_calls(0).id());
  auto a = ask(req);
  CHECK(a.result.finish_reason() == "stop");
  CHECK(a.result.message().tool_calls_size() == 0);
  CHECK(a.result.message().content() == "troupe-dev got from search: \"3 cats found\"");
  CHECK(joined(a.deltas) == a.result.message().content());
}

TEST_CASE("troupe-dev refuses an empty conversation and honours cancel") {
  dev_model model;
  CHECK(is(model.generate({}, "troupe-dev", {}, nullptr).error(), errc::invalid_request));
  std::atomic<bool> cancel{true};
  CHECK(is(model.generate(make_request({{"user", "hi"}}), "troupe-dev", {}, &cancel).error(),
           errc::cancelled));
}

TEST_CASE("troupe-dev lists itself") {
  auto models = dev_model{}.list_models();
  REQUIRE(models);
  REQUIRE(models->size() == 1);
  CHECK((*models)[0].id() == "troupe-dev");
}
