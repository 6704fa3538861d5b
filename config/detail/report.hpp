#pragma once
/// Collects problems with a sortable position while a config is loaded, so
/// the result can list them in the order an operator reads the file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/problem.hpp"

namespace troupe::config::detail {

enum class origin : std::uint8_t { file, env, none };

struct position {
  origin from = origin::none;
  std::size_t line = 0;
  std::size_t column = 0;
  /// What problem::where shows.
  std::string where;
};

position at_file(const std::string& source, std::size_t line, std::size_t column);
position at_env(std::string_view variable);
/// A problem of the configuration as a whole ("troupe.toml", or "" with no file).
position nowhere(std::string where);

class report {
public:
  void add(std::string_view code, std::string message, const position& at);

  /// File problems by line and column, then variables by name, then the rest
  /// in the order they were found.
  [[nodiscard]] std::vector<problem> take_sorted();

private:
  struct entry {
    problem p;
    position at;
  };
  std::vector<entry> entries_;
};

} // namespace troupe::config::detail
