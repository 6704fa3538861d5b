#include <catch2/catch.hpp>

#include <set>

#include "config/role.hpp"

using namespace troupe::config;

TEST_CASE("every role's name reads back as that role", "[config][role]") {
  for (auto r : all_roles()) {
    auto back = role_from_string(to_string(r));
    REQUIRE(back.has_value());
    CHECK(*back == r);
  }
}

TEST_CASE("role names are matched exactly, so a near miss is no role", "[config][role]") {
  CHECK(role_from_string("gateway") == role::gateway);
  CHECK(role_from_string("sandbox") == role::sandbox);
  CHECK_FALSE(role_from_string("Gateway").has_value());
  CHECK_FALSE(role_from_string(" gateway").has_value());
  CHECK_FALSE(role_from_string("").has_value());
  CHECK_FALSE(role_from_string("wizard").has_value());
}

TEST_CASE("all_roles lists the eight roles once each, in declaration order", "[config][role]") {
  const auto& roles = all_roles();
  REQUIRE(roles.size() == 8);
  CHECK(roles.front() == role::gateway);
  CHECK(roles.back() == role::sandbox);
  std::set<std::string_view> names;
  for (auto r : roles)
    names.insert(to_string(r));
  CHECK(names.size() == 8);
  CHECK(names.count("guardrail") == 1);
}
