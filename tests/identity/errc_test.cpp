#include <catch2/catch.hpp>

#include "actors/gateway/identity/errc.hpp"

using namespace troupe::gateway::identity;

TEST_CASE("every identity error code has a stable name that parses back") {
  for (auto code : {errc::unknown, errc::key_unreadable, errc::key_invalid, errc::options_invalid,
                    errc::invalid_argument, errc::random_failed}) {
    CHECK(errc_from_string(to_string(code)) == code);
  }
  CHECK(to_string(errc::key_unreadable) == "key_unreadable");
  CHECK(errc_from_string("from_a_newer_build") == errc::unknown);
  CHECK(to_string(static_cast<errc>(99)) == "unknown");
}

TEST_CASE("identity errors carry the identity category") {
  auto err = make_error(errc::key_invalid, "short");
  CHECK(err.category() == caf::atom("identity"));
  CHECK(is(err, errc::key_invalid));
  CHECK_FALSE(is(err, errc::key_unreadable));
  CHECK_FALSE(is(caf::error{}, errc::key_invalid));
}
