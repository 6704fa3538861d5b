#include <caf/message.hpp>
#include <catch2/catch.hpp>
#include <set>

#include "bus/envelope_codec.hpp"
#include "bus/errc.hpp"
#include "troupe/v1/node.pb.h"

using namespace troupe::bus;

TEST_CASE("make_envelope names the payload type and gives every envelope a fresh hex id",
          "[envelope]") {
  troupe::v1::Ping ping;
  ping.set_seq(3);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto env = make_envelope(ping);
    CHECK(env.payload_type() == "troupe.v1.Ping");
    REQUIRE(env.id().size() == 32);
    CHECK(env.id().find_first_not_of("0123456789abcdef") == std::string::npos);
    ids.insert(env.id());
  }
  CHECK(ids.size() == 1000);
  auto back = payload_as<troupe::v1::Ping>(make_envelope(ping));
  REQUIRE(back);
  CHECK(back->seq() == 3);
}

TEST_CASE("a reply correlates to its request and carries tenant, trace and return address",
          "[envelope]") {
  auto request = make_envelope(troupe::v1::Ping{});
  request.set_tenant("acme");
  request.set_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  request.mutable_from()->set_node("n1");
  request.mutable_from()->set_kind("session");
  troupe::v1::Pong pong;
  pong.set_node_id("n2");
  auto reply = make_reply(request, pong);
  CHECK(reply.correlation_id() == request.id());
  CHECK(reply.id() != request.id());
  CHECK(reply.tenant() == "acme");
  CHECK(reply.traceparent() == request.traceparent());
  CHECK(reply.to().node() == "n1");
  CHECK(reply.to().kind() == "session");
  CHECK(reply.payload_type() == "troupe.v1.Pong");
}

TEST_CASE("an error reply carries a troupe.v1.Error with the stable code and component bus",
          "[envelope]") {
  auto request = make_envelope(troupe::v1::Ping{});
  auto reply = error_reply(request, errc::deadline_expired, "too late");
  CHECK(reply.payload_type() == "troupe.v1.Error");
  CHECK(reply.correlation_id() == request.id());
  CHECK(is_error(reply));
  troupe::v1::Error err;
  REQUIRE(err.ParseFromString(reply.payload()));
  CHECK(err.code() == "deadline_expired");
  CHECK(err.message() == "too late");
  CHECK(err.component() == "bus");
  auto as_error = error_of(reply);
  CHECK(is(as_error, errc::deadline_expired));
  // The structure travels as it came: nothing is parsed back from text.
  REQUIRE(as_error.context().match_elements<troupe::v1::Error>());
  CHECK(as_error.context().get_as<troupe::v1::Error>(0).message() == "too late");
  CHECK(describe(as_error) == "bus/deadline_expired: too late");
}

TEST_CASE("a remote error with a code this build lacks becomes errc::unknown and keeps its text",
          "[envelope]") {
  auto request = make_envelope(troupe::v1::Ping{});
  troupe::v1::Error err;
  err.set_code("quota_exceeded");
  err.set_message("slow down");
  err.set_component("bus");
  auto reply = make_reply(request, err);
  auto e = error_of(reply);
  CHECK(is(e, errc::unknown));
  auto back = error_payload(e);
  CHECK(back.code() == "quota_exceeded");
  CHECK(back.message() == "slow down");

  // A component this program does not link keeps its own code space.
  err.set_code("timeout");
  err.set_component("billing");
  auto foreign = error_of(make_reply(request, err));
  CHECK(is(foreign, errc::remote_error));
  CHECK_FALSE(is(foreign, errc::timeout));
  CHECK(error_payload(foreign).component() == "billing");
}

TEST_CASE("payload_as refuses another type, turns an Error into its errc and flags bad bytes",
          "[envelope]") {
  auto env = make_envelope(troupe::v1::Ping{});
  auto wrong = payload_as<troupe::v1::Pong>(env);
  REQUIRE_FALSE(wrong);
  CHECK(is(wrong.error(), errc::unknown_type));

  auto err = payload_as<troupe::v1::Pong>(error_reply(env, errc::no_responders, "none"));
  REQUIRE_FALSE(err);
  CHECK(is(err.error(), errc::no_responders));

  env.set_payload("\xff\xff");
  auto bad = payload_as<troupe::v1::Ping>(env);
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::malformed));

  troupe::v1::Envelope not_error;
  not_error.set_payload_type("troupe.v1.Error");
  not_error.set_payload("\xff\xff");
  CHECK(is(error_of(not_error), errc::malformed));
}

TEST_CASE("error_payload inverts error_of: other components' codes pass through unchanged",
          "[bus][codec]") {
  troupe::v1::Envelope request = make_envelope(troupe::v1::Ping{});
  troupe::v1::Error remote;
  remote.set_component("inference");
  remote.set_code("model_unknown");
  remote.set_message("no provider serves gpt-9");
  auto back = error_payload(error_of(error_reply(request, remote)));
  CHECK(back.component() == "inference");
  CHECK(back.code() == "model_unknown");
  CHECK(back.message() == "no provider serves gpt-9");

  auto bus_err = error_payload(make_error(errc::no_responders, "nobody serves svc.x"));
  CHECK(bus_err.component() == "bus");
  CHECK(bus_err.code() == "no_responders");
  CHECK(bus_err.message() == "nobody serves svc.x");

  auto empty = error_payload(caf::error{});
  CHECK(empty.code() == "unknown");
}
