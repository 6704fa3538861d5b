#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>
#include <toml++/toml.h>
#include <type_traits>

#include "config/keys.hpp"
#include "config/load.hpp"
#include "tests/config/helpers.hpp"

using namespace troupe::config;
using namespace troupe::config::test;

namespace {

const std::string example_path = std::string{TROUPE_CONFIG_DIR} + "/troupe.example.toml";

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

TEST_CASE("the example file loads with no problems", "[config][example]") {
  auto r = load_file(example_path, {});
  INFO(all_described(r));
  CHECK(r.ok());
}

TEST_CASE("the example file's values are the defaults", "[config][example]") {
  auto r = load_file(example_path, {});
  REQUIRE(r.ok());
  auto cfg = r.config;
  // The one key without a default; node.id = "" means the default.
  cfg.database.url.clear();
  CHECK(cfg == node_config{});
}

TEST_CASE("every key the loader knows appears in the example file", "[config][example]") {
  auto root = toml::parse_file(example_path);
  for (const auto& key : known_keys()) {
    INFO(qualified_name(key));
    CHECK(root[key.section][key.name].node() != nullptr);
  }
}

TEST_CASE("every key in the example file has a comment above it naming its default",
          "[config][example]") {
  auto lines = lines_of(read_text(example_path));
  for (const auto& key : known_keys()) {
    INFO(qualified_name(key));
    auto at = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.starts_with(std::string{key.name} + " = ");
    });
    REQUIRE(at != lines.end());
    std::string comment;
    for (auto it = at; it != lines.begin() && (it - 1)->starts_with("#"); --it)
      comment = *(it - 1) + "\n" + comment;
    CHECK_FALSE(comment.empty());
    auto text = lower(comment);
    CHECK(
        (text.find("default") != std::string::npos || text.find("required") != std::string::npos));
  }
}

TEST_CASE("the README documents every problem code", "[config][example]") {
  auto readme = read_text(std::string{TROUPE_CONFIG_DIR} + "/README.md");
  REQUIRE_FALSE(readme.empty());
  for (const auto& c : all_codes()) {
    INFO(c.code);
    CHECK(readme.find("| `" + std::string{c.code} + "` |") != std::string::npos);
  }
}

TEST_CASE("every integer key's range fits its member and holds its default", "[config][example]") {
  node_config defaults_cfg;
  for (const auto& key : known_keys()) {
    INFO(qualified_name(key));
    std::visit(
        [&](auto field) {
          using T = std::remove_cvref_t<decltype(field(defaults_cfg))>;
          if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            CHECK(key.min <= key.max);
            CHECK(key.min >= static_cast<std::int64_t>(std::numeric_limits<T>::min()));
            CHECK(static_cast<std::uint64_t>(key.max) <= std::numeric_limits<T>::max());
            auto value = static_cast<std::int64_t>(field(defaults_cfg));
            if (key.rule == value_rule::no_limit && value == -1)
              return;
            CHECK(value >= key.min);
            CHECK(value <= key.max);
          } else if constexpr (requires(T d) { d.count(); }) {
            CHECK(key.min >= 0);
            CHECK(key.min <= key.max);
            CHECK(field(defaults_cfg).count() >= key.min);
            CHECK(field(defaults_cfg).count() <= key.max);
          }
        },
        key.field);
  }
}

TEST_CASE("every key is known once and its section in the list of sections", "[config][example]") {
  auto sections = known_sections();
  CHECK(sections.size() == 12);
  for (const auto& key : known_keys()) {
    INFO(qualified_name(key));
    CHECK(find_key(key.section, key.name) == &key);
    CHECK(std::find(sections.begin(), sections.end(), key.section) != sections.end());
  }
}
