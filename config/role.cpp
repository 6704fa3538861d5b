#include "config/role.hpp"

#include <array>
#include <utility>

namespace troupe::config {

namespace {

constexpr std::array<std::pair<role, std::string_view>, 8> names{{
    {role::gateway, "gateway"},
    {role::session, "session"},
    {role::inference, "inference"},
    {role::tool, "tool"},
    {role::guardrail, "guardrail"},
    {role::memory, "memory"},
    {role::audit, "audit"},
    {role::sandbox, "sandbox"},
}};

} // namespace

std::string_view to_string(role r) noexcept {
  for (const auto& [value, name] : names)
    if (value == r)
      return name;
  return "unknown";
}

std::optional<role> role_from_string(std::string_view name) noexcept {
  for (const auto& [value, text] : names)
    if (text == name)
      return value;
  return std::nullopt;
}

const std::vector<role>& all_roles() {
  static const std::vector<role> roles = [] {
    std::vector<role> out;
    for (const auto& entry : names)
      out.push_back(entry.first);
    return out;
  }();
  return roles;
}

} // namespace troupe::config
