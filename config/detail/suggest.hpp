#pragma once
/// "did you mean" for unknown keys: most unknown keys are typos of known ones.
#include <span>
#include <string>
#include <string_view>

namespace troupe::config::detail {

/// " (did you mean 'port'?)" for the closest candidate within one edit per
/// three characters of `word` (at least one), else "".
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

} // namespace troupe::config::detail
