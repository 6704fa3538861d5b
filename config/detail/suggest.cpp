#include "config/detail/suggest.hpp"

#include <algorithm>
#include <vector>

namespace troupe::config::detail {

namespace {

/// Keys are short; anything longer is not a typo of one and not worth the
/// quadratic distance.
constexpr std::size_t max_word = 64;

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and swaps of neighbours ("prot" -> "port") each cost one.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

} // namespace

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  if (word.size() > max_word)
    return {};
  // One edit per three characters: "x" is no typo of "id", "prot" is of "port".
  std::size_t max_edits = std::max<std::size_t>(1, word.size() / 3);
  std::string_view best;
  std::size_t best_distance = max_edits + 1;
  for (auto c : candidates) {
    auto d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  if (best.empty())
    return {};
  return " (did you mean '" + std::string{best} + "'?)";
}

} // namespace troupe::config::detail
