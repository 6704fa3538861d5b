#pragma once
/// The roles a node can host. A role name is part of the bus contract
/// (`troupe.<cluster>.svc.<role>`), so the spelling here is the wire spelling.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace troupe::config {

enum class role : std::uint8_t {
  gateway,
  session,
  inference,
  tool,
  guardrail,
  memory,
  audit,
  sandbox
};

/// The lower-case name used in config files, subjects and logs.
std::string_view to_string(role r) noexcept;

/// Exact, case-sensitive match: "Gateway" is not a role, so a typo cannot
/// silently become a different subject.
std::optional<role> role_from_string(std::string_view name) noexcept;

/// Every role, in declaration order: the default for a node that names none.
const std::vector<role>& all_roles();

} // namespace troupe::config
