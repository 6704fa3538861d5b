#pragma once
/// Small helpers shared by the config tests: the codes of a result, a
/// minimal valid file, and a temporary folder that removes itself.
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/load.hpp"

namespace troupe::config::test {

/// The smallest file that loads: database.url has no default.
inline const std::string minimal =
    "[database]\nurl = \"postgresql://troupe@127.0.0.1:5432/troupe\"\n";

inline std::vector<std::string> codes_of(const load_result& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems)
    out.push_back(p.code);
  return out;
}

inline std::string all_described(const load_result& r) {
  std::string out;
  for (const auto& p : r.problems)
    out += describe(p) + "\n";
  return out;
}

/// The only problem of `r`; fails the test when there is not exactly one.
inline const problem& only_problem(const load_result& r) {
  INFO(all_described(r));
  REQUIRE(r.problems.size() == 1);
  return r.problems.front();
}

inline load_result load(const std::string& text, const env_map& env = {}) {
  return load_string(text, "troupe.toml", env);
}

class temp_dir {
public:
  temp_dir() {
    auto tmpl = (std::filesystem::temp_directory_path() / "troupe-config-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::string write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::ofstream out{p, std::ios::binary};
    out << content;
    return p.string();
  }

private:
  std::filesystem::path path_;
};

} // namespace troupe::config::test
