#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "config/keys.hpp"
#include "config/load.hpp"
#include "tests/config/helpers.hpp"

using namespace troupe::config;
using namespace troupe::config::test;

namespace {

std::string example_text() {
  std::ifstream in{std::string{TROUPE_CONFIG_DIR} + "/troupe.example.toml"};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

TEST_CASE("random bytes never throw and never pass as a config", "[config][bad-input]") {
  std::mt19937 rng{20240611};
  std::uniform_int_distribution<int> byte{0, 255};
  std::uniform_int_distribution<int> length{0, 300};
  for (int i = 0; i < 300; ++i) {
    std::string text(static_cast<std::size_t>(length(rng)), '\0');
    for (char& c : text)
      c = static_cast<char>(byte(rng));
    load_result r;
    REQUIRE_NOTHROW(r = load(text));
    CHECK_FALSE(r.ok());
    for (const auto& p : r.problems)
      CHECK(p.code.size() == 4);
  }
}

TEST_CASE("every prefix and every one-byte mutation of the example is handled without throwing",
          "[config][bad-input]") {
  auto text = example_text();
  REQUIRE_FALSE(text.empty());
  for (std::size_t n = 0; n < text.size(); n += 7)
    REQUIRE_NOTHROW(load(text.substr(0, n)));
  std::mt19937 rng{7};
  const std::string alphabet = "[]\"'=,.#\n 0x-9aZ{}\\\x01\xff";
  for (int i = 0; i < 300; ++i) {
    auto mutated = text;
    mutated[rng() % mutated.size()] = alphabet[rng() % alphabet.size()];
    REQUIRE_NOTHROW(load(mutated));
  }
}

TEST_CASE("a value of the wrong type in any key is one E002 at that key's line",
          "[config][bad-input]") {
  for (const auto& key : known_keys()) {
    INFO(qualified_name(key));
    auto text = "[" + std::string{key.section} + "]\n" + std::string{key.name} + " = 1.5\n";
    auto r = load(text, {{"TROUPE_DATABASE_URL", "postgresql://u@h/db"}});
    const auto& p = only_problem(r);
    CHECK(p.code == "E002");
    CHECK(p.where.starts_with("troupe.toml:2:"));
  }
}

TEST_CASE("a variable of any key with a hostile value never throws", "[config][bad-input]") {
  std::string hostile = std::string(5000, 'a') + "\x01\x1b[2J\xff,,=";
  for (const auto& key : known_keys()) {
    INFO(qualified_name(key));
    load_result r;
    REQUIRE_NOTHROW(r = load(minimal, {{env_name(key), hostile}}));
    CHECK_FALSE(r.ok());
    for (const auto& p : r.problems) {
      CHECK(p.message.find('\x1b') == std::string::npos);
      CHECK(p.message.size() < 600);
    }
  }
}

TEST_CASE("control characters in a value are escaped in messages", "[config][bad-input]") {
  auto r = load(minimal + "[node]\nid = \"a\\u001b[31mb\"\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E009");
  CHECK(p.message.find('\x1b') == std::string::npos);
  CHECK(p.message.find("\\x1b") != std::string::npos);
}

TEST_CASE("deeply nested arrays are a syntax error, not a crash", "[config][bad-input]") {
  auto text =
      minimal + "[node]\nroles = " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  load_result r;
  REQUIRE_NOTHROW(r = load(text));
  CHECK_FALSE(r.ok());
}

TEST_CASE("a file larger than 1 MiB is refused unread with E008", "[config][bad-input]") {
  temp_dir dir;
  auto path = dir.write("big.toml", minimal + std::string(2 << 20, '#'));
  auto r = load_file(path, {});
  const auto& p = only_problem(r);
  CHECK(p.code == "E008");
  CHECK(p.message.find("larger than 1 MiB") != std::string::npos);
}

TEST_CASE("a device that never ends is not read", "[config][bad-input]") {
  auto r = load_file("/dev/zero", {});
  CHECK(only_problem(r).code == "E008");
}
