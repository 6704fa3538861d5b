#include "bus/subject_match.hpp"

namespace troupe::bus {

namespace {

constexpr bool printable(char c) noexcept {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f;
}

/// Splits off the first token of `rest`, leaving `rest` after its dot; `last`
/// tells the caller there is nothing more.
std::string_view next_token(std::string_view& rest, bool& last) noexcept {
  auto dot = rest.find('.');
  auto token = rest.substr(0, dot);
  last = dot == std::string_view::npos;
  rest = last ? std::string_view{} : rest.substr(dot + 1);
  return token;
}

bool literal_token(std::string_view token) noexcept {
  if (token.empty())
    return false;
  for (char c : token)
    if (!printable(c) || c == '*' || c == '>')
      return false;
  return true;
}

} // namespace

bool is_publish_subject(std::string_view subject) noexcept {
  if (subject.empty())
    return false;
  bool last = false;
  while (!last)
    if (!literal_token(next_token(subject, last)))
      return false;
  return true;
}

bool is_subscribe_pattern(std::string_view pattern) noexcept {
  if (pattern.empty())
    return false;
  bool last = false;
  while (!last) {
    auto token = next_token(pattern, last);
    if (token == "*")
      continue;
    if (token == ">") {
      if (!last)
        return false;
      continue;
    }
    if (!literal_token(token))
      return false;
  }
  return true;
}

bool is_queue_name(std::string_view queue) noexcept {
  if (queue.empty())
    return false;
  for (char c : queue)
    if (!printable(c))
      return false;
  return true;
}

bool subject_matches(std::string_view pattern, std::string_view subject) noexcept {
  if (!is_subscribe_pattern(pattern) || !is_publish_subject(subject))
    return false;
  bool pattern_last = false;
  bool subject_last = false;
  for (;;) {
    auto p = next_token(pattern, pattern_last);
    if (p == ">")
      return true; // the subject still has at least this token
    auto s = next_token(subject, subject_last);
    if (p != "*" && p != s)
      return false;
    if (pattern_last || subject_last)
      return pattern_last && subject_last;
  }
}

} // namespace troupe::bus
