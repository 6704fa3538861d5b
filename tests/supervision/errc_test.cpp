#include <catch2/catch.hpp>

#include <caf/sec.hpp>

#include "actors/supervision/errc.hpp"

using namespace troupe::supervision;

TEST_CASE("every supervision error code has a stable name that parses back") {
  for (auto code : {errc::unknown, errc::restart_budget_exceeded, errc::unknown_child,
                    errc::invalid_child_spec, errc::start_failed, errc::internal_error}) {
    auto name = to_string(code);
    CHECK_FALSE(name.empty());
    CHECK(errc_from_string(name) == code);
  }
  CHECK(to_string(errc::restart_budget_exceeded) == "restart_budget_exceeded");
}

TEST_CASE("unknown names and out-of-range codes map to unknown") {
  CHECK(errc_from_string("no_such_code") == errc::unknown);
  CHECK(errc_from_string("") == errc::unknown);
  CHECK(to_string(static_cast<errc>(0)) == "unknown");
  CHECK(to_string(static_cast<errc>(200)) == "unknown");
}

TEST_CASE("supervision errors carry the supervise category and are recognised by is") {
  auto err = make_error(errc::restart_budget_exceeded, "child 'w' crashed 6 times");
  CHECK(err.category() == caf::atom("supervise"));
  CHECK(is(err, errc::restart_budget_exceeded));
  CHECK_FALSE(is(err, errc::unknown_child));
  // Same code number in another category is not ours.
  caf::error foreign{static_cast<uint8_t>(errc::restart_budget_exceeded), caf::atom("bus")};
  CHECK_FALSE(is(foreign, errc::restart_budget_exceeded));
}

TEST_CASE("describe renders our codes by name with their context and others through CAF") {
  CHECK(describe(make_error(errc::unknown_child, "ghost")) == "unknown_child: ghost");
  CHECK(describe(make_error(errc::start_failed)) == "start_failed");
  CHECK(describe(caf::error{}) == "none");
  CHECK(describe(caf::make_error(caf::sec::runtime_error)).find("runtime_error")
        != std::string::npos);
}
