#include "actors/gateway/identity/bearer_token.hpp"

#include <algorithm>
#include <cctype>

#include "actors/gateway/identity/auth_errors.hpp"

namespace troupe::gateway::identity {

namespace {

constexpr std::string_view whitespace = " \t";

std::string_view trim(std::string_view s) noexcept {
  auto first = s.find_first_not_of(whitespace);
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of(whitespace) - first + 1);
}

bool b64token_char(char ch) noexcept {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0
         || std::string_view{"-._~+/="}.find(ch) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
                  == std::tolower(static_cast<unsigned char>(y));
         });
}

} // namespace

result<std::string_view> bearer_token(std::string_view header) {
  header = trim(header);
  if (header.empty())
    return unauthenticated("an Authorization: Bearer header is required");
  auto space = header.find_first_of(whitespace);
  if (space == std::string_view::npos || !iequals(header.substr(0, space), "Bearer"))
    return unauthenticated("the Authorization header must use the Bearer scheme");
  auto token = trim(header.substr(space));
  if (token.empty() || !std::all_of(token.begin(), token.end(), b64token_char))
    return unauthenticated("the Authorization header holds no well-formed bearer token");
  return token;
}

} // namespace troupe::gateway::identity
