#include "config/detail/report.hpp"

#include <algorithm>
#include <tuple>

namespace troupe::config::detail {

position at_file(const std::string& source, std::size_t line, std::size_t column) {
  return {origin::file, line, column,
          source + ":" + std::to_string(line) + ":" + std::to_string(column)};
}

position at_env(std::string_view variable) {
  return {origin::env, 0, 0, "env " + std::string{variable}};
}

position nowhere(std::string where) {
  return {origin::none, 0, 0, std::move(where)};
}

void report::add(std::string_view code, std::string message, const position& at) {
  entries_.push_back({problem{std::string{code}, std::move(message), at.where}, at});
}

std::vector<problem> report::take_sorted() {
  std::stable_sort(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) {
    if (a.at.from != b.at.from)
      return a.at.from < b.at.from;
    switch (a.at.from) {
    case origin::file:
      return std::tie(a.at.line, a.at.column) < std::tie(b.at.line, b.at.column);
    case origin::env:
      return a.at.where < b.at.where;
    case origin::none:
      break;
    }
    return false;
  });
  std::vector<problem> out;
  out.reserve(entries_.size());
  for (auto& e : entries_)
    out.push_back(std::move(e.p));
  entries_.clear();
  return out;
}

} // namespace troupe::config::detail
