#include <catch2/catch.hpp>

#include "bus/errc.hpp"
#include "bus/subjects.hpp"

using namespace troupe::bus;

TEST_CASE("valid_token accepts letters, digits, underscore and dash only", "[subjects]") {
  for (auto ok : {"a", "session", "node-7", "A_b-9", "0"})
    CHECK(valid_token(ok));
  for (auto bad : {"", "a.b", "*", ">", "$SYS", "a b", "tab\t", "é", "a/b", "new\nline", "."})
    CHECK_FALSE(valid_token(bad));
}

TEST_CASE("subjects follow the troupe.<cluster> scheme for every address kind", "[subjects]") {
  subjects s{"prod"};
  CHECK(*s.svc("inference") == "troupe.prod.svc.inference");
  CHECK(*s.broadcast("inference", "cancel") == "troupe.prod.all.inference.cancel");
  CHECK_FALSE(s.broadcast("inference", "a.b"));
  CHECK(*s.direct("node-1", "session", "s42") == "troupe.prod.node.node-1.session.s42");
  CHECK(*s.node_svc("node-1", "session") == "troupe.prod.node.node-1.svc.session");
  CHECK(*s.heartbeat("node-1") == "troupe.prod.heartbeat.node-1");
  CHECK(*s.ctl("node-1") == "troupe.prod.ctl.node-1");
  CHECK(*s.events("acme", "s42", "t7", "model_response")
        == "troupe.prod.events.acme.s42.t7.model_response");
  CHECK(s.all_events() == "troupe.prod.events.>");
  CHECK(*s.node_prefix("node-1") == "troupe.prod.node.node-1.");
  CHECK_FALSE(s.node_prefix("a.b"));
}

TEST_CASE("a token with a dot, a space, a dollar or nothing in it is an invalid_subject error",
          "[subjects]") {
  subjects s{"prod"};
  for (auto r : {s.svc(""), s.svc("a.b"), s.ctl("$SYS"), s.heartbeat("a b"),
                 s.direct("n", "", "x"), s.events("acme", "s.1", "t", "x")}) {
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_subject));
  }
  subjects bad_cluster{"pr.od"};
  auto r = bad_cluster.svc("inference");
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_subject));
}

TEST_CASE("builders yield subscription patterns with * anywhere and > only at the end",
          "[subjects]") {
  subjects s{"prod"};
  CHECK(*s.heartbeat("*") == "troupe.prod.heartbeat.*");
  CHECK(*s.events("acme", "*", "*", ">") == "troupe.prod.events.acme.*.*.>");
  CHECK_FALSE(s.direct(">", "session", "x"));
  CHECK_FALSE(s.events(">", "s", "t", "x"));
  CHECK_FALSE(s.heartbeat("a*"));
}

TEST_CASE("publishers may not use wildcards while subscribers may", "[subjects]") {
  CHECK(valid_publish_subject("troupe.prod.svc.memory"));
  CHECK_FALSE(valid_publish_subject("troupe.prod.heartbeat.*"));
  CHECK_FALSE(valid_publish_subject("troupe.prod.>"));
  CHECK_FALSE(valid_publish_subject("troupe..svc"));
  CHECK_FALSE(valid_publish_subject("troupe.prod."));
  CHECK_FALSE(valid_publish_subject(""));
  CHECK_FALSE(valid_publish_subject("$JS.API.INFO"));
  CHECK(valid_subscribe_subject("troupe.prod.heartbeat.*"));
  CHECK(valid_subscribe_subject("troupe.prod.>"));
  CHECK_FALSE(valid_subscribe_subject("troupe.>.svc"));
  CHECK_FALSE(valid_subscribe_subject("troupe.pr*d"));
  CHECK_FALSE(valid_subscribe_subject("troupe..svc"));
}
