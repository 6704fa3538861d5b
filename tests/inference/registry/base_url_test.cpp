#include <catch2/catch.hpp>

#include "actors/inference/base_url.hpp"
#include "actors/inference/errc.hpp"
#include "tests/inference/registry/registry_test_support.hpp"

using namespace troupe::inference;
using troupe::inference::testing::error_text;

TEST_CASE("a provider base URL is normalised and its host read") {
  auto u = parse_base_url("https://API.openai.com/v1/");
  REQUIRE(u);
  CHECK(u->url == "https://API.openai.com/v1");
  CHECK(u->host == "api.openai.com");
  CHECK_FALSE(u->loopback);
  auto bare = parse_base_url("http://example.com");
  REQUIRE(bare);
  CHECK(bare->url == "http://example.com");
}

TEST_CASE("providers on this machine are recognised as loopback") {
  for (const char* url : {"http://localhost:8080/v1", "http://127.0.0.1:11434", "http://127.8.9.1",
                          "http://[::1]:8000/v1", "http://LOCALHOST"}) {
    auto u = parse_base_url(url);
    REQUIRE(u);
    CHECK(u->loopback);
  }
  for (const char* url : {"http://10.0.0.1", "http://[::2]", "https://localhost.example.com",
                          "http://128.0.0.1"}) {
    auto u = parse_base_url(url);
    REQUIRE(u);
    CHECK_FALSE(u->loopback);
  }
}

TEST_CASE("base URLs that are not plain http(s) endpoints are refused") {
  for (std::string bad : std::vector<std::string>{"", "api.openai.com/v1", "ftp://example.com", "file:///etc/passwd",
                          "https://", "https://example.com/v1?x=1", "https://example.com/#f",
                          std::string{"https://exa\0mple.com", 20}, "http://exa mple.com"}) {
    auto u = parse_base_url(bad);
    REQUIRE_FALSE(u);
    CHECK(is(u.error(), errc::invalid_request));
  }
}

TEST_CASE("a base URL with credentials is refused without repeating them") {
  for (const char* bad : {"https://user:hunter2@example.com/v1", "https://hunter2@example.com"}) {
    auto u = parse_base_url(bad);
    REQUIRE_FALSE(u);
    CHECK_THAT(error_text(u.error()), Catch::Contains("credentials"));
    CHECK_THAT(error_text(u.error()), !Catch::Contains("hunter2"));
  }
}
