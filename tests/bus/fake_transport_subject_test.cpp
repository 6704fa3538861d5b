#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bus/subject_match.hpp"

using namespace troupe::bus;

TEST_CASE("a star matches exactly one token", "[fake_transport][subject][unit]") {
  CHECK(subject_matches("a.*.c", "a.b.c"));
  CHECK(subject_matches("*", "a"));
  CHECK(subject_matches("*.*", "a.b"));
  CHECK_FALSE(subject_matches("a.*", "a"));
  CHECK_FALSE(subject_matches("a.*", "a.b.c"));
  CHECK_FALSE(subject_matches("a.*.c", "a.b.d"));
  CHECK_FALSE(subject_matches("*", "a.b"));
}

TEST_CASE("a trailing greater-than matches one or more remaining tokens",
          "[fake_transport][subject][unit]") {
  CHECK(subject_matches("a.>", "a.b"));
  CHECK(subject_matches("a.>", "a.b.c.d"));
  CHECK(subject_matches(">", "a"));
  CHECK(subject_matches(">", "a.b.c"));
  CHECK(subject_matches("a.*.>", "a.b.c"));
  CHECK_FALSE(subject_matches("a.>", "a"));
  CHECK_FALSE(subject_matches("a.*.>", "a.b"));
  CHECK_FALSE(subject_matches("b.>", "a.b"));
}

TEST_CASE("literal subjects match only themselves", "[fake_transport][subject][unit]") {
  CHECK(subject_matches("a.b.c", "a.b.c"));
  CHECK_FALSE(subject_matches("a.b.c", "a.b"));
  CHECK_FALSE(subject_matches("a.b", "a.b.c"));
  CHECK_FALSE(subject_matches("a.bc", "a.b"));
  CHECK(subject_matches("_INBOX.abc.7", "_INBOX.abc.7"));
  CHECK(subject_matches("$JS.API.>", "$JS.API.STREAM.INFO.X"));
}

TEST_CASE("malformed subjects and patterns are rejected and never match",
          "[fake_transport][subject][unit]") {
  for (std::string bad :
       std::vector<std::string>{"", ".", "a.", ".a", "a..b", "a b", "a\tb", "a\nb", "a.*", "a.>",
                                "*", ">", "a*", "a.b>", std::string("a\0b", 3), "a\x7f"}) {
    INFO("subject: " << bad);
    CHECK_FALSE(is_publish_subject(bad));
    CHECK_FALSE(subject_matches(">", bad));
  }
  for (std::string bad : std::vector<std::string>{"", "a..b", "a.>.b", ">.a", "a.b*", "a.*b",
                                                  "a. b", "a.", "..", "a.>>"}) {
    INFO("pattern: " << bad);
    CHECK_FALSE(is_subscribe_pattern(bad));
    CHECK_FALSE(subject_matches(bad, "a.b"));
  }
  CHECK(is_subscribe_pattern("a.*.>"));
  CHECK(is_subscribe_pattern(">"));
  CHECK(is_publish_subject("troupe.test.svc.echo"));
  CHECK(is_queue_name("workers"));
  CHECK(is_queue_name("q.1"));
  CHECK_FALSE(is_queue_name(""));
  CHECK_FALSE(is_queue_name("two words"));
}
