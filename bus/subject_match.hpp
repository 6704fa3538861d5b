#pragma once
/// NATS subject syntax and wildcard matching, as the server applies them, so
/// the in-memory fake routes exactly like a real server would.
///
/// These are the *protocol's* rules (non-empty `.`-separated tokens, no
/// whitespace or control characters; `*` matches one token, `>` one or more
/// trailing tokens). The bus's own, stricter subject scheme lives in
/// bus/subjects.hpp.
#include <string_view>

namespace troupe::bus {

/// True when `subject` can be published to: non-empty tokens of printable,
/// non-space characters, with no `*` or `>` anywhere (the server would treat
/// a lone one as a wildcard, and an embedded one is almost surely a bug).
[[nodiscard]] bool is_publish_subject(std::string_view subject) noexcept;

/// True when `pattern` can be subscribed to: like `is_publish_subject`, but a
/// token may be exactly `*`, and the last token may be exactly `>`.
[[nodiscard]] bool is_subscribe_pattern(std::string_view pattern) noexcept;

/// True for a usable queue group name: non-empty, printable, no spaces.
[[nodiscard]] bool is_queue_name(std::string_view queue) noexcept;

/// True when the (valid) `pattern` matches the (valid) publish `subject`.
/// Invalid input never matches and never reads out of bounds.
[[nodiscard]] bool subject_matches(std::string_view pattern, std::string_view subject) noexcept;

} // namespace troupe::bus
