#include "actors/inference/sse_parser.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "actors/inference/errc.hpp"

using troupe::inference::errc;
using troupe::inference::sse_event;
using troupe::inference::sse_parser;

namespace {

/// The events of `chunks` fed in order; fails the test on a parse error.
std::vector<sse_event> parse(sse_parser& p, const std::vector<std::string>& chunks) {
  std::vector<sse_event> out;
  for (const auto& chunk : chunks) {
    auto err = p.feed(chunk, [&](const sse_event& ev) { out.push_back(ev); });
    REQUIRE_FALSE(err);
  }
  return out;
}

std::vector<sse_event> parse(const std::string& stream) {
  sse_parser p;
  return parse(p, {stream});
}

bool same(const std::vector<sse_event>& a, const std::vector<sse_event>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].type != b[i].type || a[i].data != b[i].data || a[i].last_id != b[i].last_id)
      return false;
  return true;
}

const std::string mixed_stream = "\xEF\xBB\xBF: hello\r\n"
                                 "event: delta\r\n"
                                 "id: 7\r\n"
                                 "data: first\r\n"
                                 "data:second\r\n"
                                 "\r\n"
                                 "data: cr only\r"
                                 "\r"
                                 "data: lf only\n"
                                 "\n"
                                 "data: [DONE]\n\n";

} // namespace

TEST_CASE("an SSE event is dispatched at a blank line with type message by default") {
  auto events = parse("data: hi\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "message");
  CHECK(events[0].data == "hi");
  CHECK(events[0].last_id.empty());
}

TEST_CASE("SSE data lines join with newlines and one leading space is removed") {
  auto events = parse("data: a\ndata:b\ndata:  c\ndata\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "a\nb\n c\n");
}

TEST_CASE("SSE comments, unknown fields and events without data dispatch nothing") {
  auto events = parse(": keep-alive\n\nfoo: bar\n\nevent: x\n\nid: 3\n\n");
  CHECK(events.empty());
  auto after = parse("event: x\n\ndata: y\n\n");
  REQUIRE(after.size() == 1);
  CHECK(after[0].type == "message"); // the type of an empty event does not leak into the next
}

TEST_CASE("an SSE data field without a value still makes an event") {
  auto events = parse("data:\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data.empty());
}

TEST_CASE("the last SSE event id persists and an id with NUL is ignored") {
  using namespace std::string_literals;
  auto events = parse("id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\n"s);
  REQUIRE(events.size() == 3);
  CHECK(events[0].last_id == "1");
  CHECK(events[1].last_id == "1");
  CHECK(events[2].last_id == "1");
}

TEST_CASE("SSE retry takes only a value of digits") {
  sse_parser p;
  (void)parse(p, {"retry: 1500\n\n"});
  CHECK(p.retry_ms() == 1500u);
  (void)parse(p, {"retry: 10s\n\nretry: -1\n\nretry:\n\nretry: 99999999999999999999999\n\n"});
  CHECK(p.retry_ms() == 1500u);
}

TEST_CASE("SSE lines may end in CRLF, CR or LF and a leading BOM is dropped") {
  auto events = parse(mixed_stream);
  REQUIRE(events.size() == 4);
  CHECK(events[0].type == "delta");
  CHECK(events[0].data == "first\nsecond");
  CHECK(events[0].last_id == "7");
  CHECK(events[1].data == "cr only");
  CHECK(events[2].data == "lf only");
  CHECK(events[3].data == "[DONE]");
}

TEST_CASE("an SSE stream split anywhere parses as the whole does") {
  auto whole = parse(mixed_stream);
  for (size_t cut = 0; cut <= mixed_stream.size(); ++cut) {
    sse_parser p;
    auto events = parse(p, {mixed_stream.substr(0, cut), mixed_stream.substr(cut)});
    INFO("cut at " << cut);
    CHECK(same(events, whole));
  }
  sse_parser bytewise;
  std::vector<std::string> bytes;
  for (char c : mixed_stream)
    bytes.emplace_back(1, c);
  CHECK(same(parse(bytewise, bytes), whole));
}

TEST_CASE("a CR that ends one chunk and an LF that starts the next are one line end") {
  sse_parser p;
  auto events = parse(p, {"data: a\r", "\ndata: b\r", "\n\r", "\n"});
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "a\nb");
}

TEST_CASE("an SSE event without its blank line is not dispatched at the end") {
  CHECK(parse("data: a\n\ndata: partial\n").size() == 1);
}

TEST_CASE("an SSE line over the size cap is an error that sticks") {
  sse_parser p{64};
  int seen = 0;
  auto count = [&](const sse_event&) { ++seen; };
  CHECK_FALSE(p.feed("data: " + std::string(40, 'x'), count));
  auto err = p.feed(std::string(40, 'y'), count);
  CHECK(troupe::inference::is(err, errc::malformed_response));
  CHECK(troupe::inference::is(p.feed("\n\ndata: ok\n\n", count), errc::malformed_response));
  CHECK(seen == 0);
}

TEST_CASE("SSE data lines that add up past the cap are an error") {
  sse_parser p{64};
  std::string many;
  for (int i = 0; i < 10; ++i)
    many += "data: 0123456789\n";
  auto err = p.feed(many, [](const sse_event&) {});
  CHECK(troupe::inference::is(err, errc::malformed_response));
}
