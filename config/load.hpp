#pragma once
/// Loading a node config: TOML file (or none), then TROUPE_* variables on top,
/// then validation. Every problem is reported in one pass, sorted by where it
/// is (file lines first, then variables), so an operator fixes a file in one
/// go instead of one error per restart. Nothing here throws.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_config.hpp"
#include "config/problem.hpp"

namespace troupe::config {

struct load_result {
  /// Defaults, then the file, then the environment. Meaningful only when ok():
  /// a value that failed its check keeps its default.
  node_config config;
  std::vector<problem> problems;
  [[nodiscard]] bool ok() const noexcept { return problems.empty(); }
};

/// Variable name -> value. A map, not the process environment, so callers
/// and tests decide what the loader sees.
using env_map = std::map<std::string, std::string>;

/// The TROUPE_* variables of this process.
env_map troupe_environment();

/// Reads and parses `path`. A file that cannot be read (E008) or parsed (E007)
/// is reported with only the problems of the variables: anything more would be
/// a guess at what the broken file meant.
[[nodiscard]] load_result load_file(const std::string& path, const env_map& env);

/// As load_file, for text already in memory; `source_name` appears in
/// problem positions ("source_name:3:1"). Relative key file paths are taken
/// relative to the working directory.
[[nodiscard]] load_result load_string(std::string_view toml, const std::string& source_name,
                                      const env_map& env);

/// No file: defaults, the variables, validation (database.url must then come
/// from TROUPE_DATABASE_URL).
[[nodiscard]] load_result defaults(const env_map& env);

} // namespace troupe::config
