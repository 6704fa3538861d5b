#include "config/problem.hpp"

#include <array>

namespace troupe::config {

std::string describe(const problem& p) {
  std::string out = p.code + " " + p.message;
  if (!p.where.empty())
    out += " at " + p.where;
  return out;
}

std::span<const code_info> all_codes() noexcept {
  static constexpr std::array<code_info, 17> table{{
      {codes::unknown_key, "unknown section or key"},
      {codes::wrong_type, "value has the wrong TOML type"},
      {codes::out_of_range, "number out of its allowed range"},
      {codes::unknown_role, "unknown role name"},
      {codes::invalid_url, "invalid NATS or PostgreSQL URL"},
      {codes::missing_value, "required value missing"},
      {codes::syntax_error, "TOML syntax error"},
      {codes::unreadable_file, "config file cannot be read"},
      {codes::invalid_identifier, "invalid identifier"},
      {codes::bad_env_value, "TROUPE_* variable cannot be read as the key's type"},
      {codes::duplicate_role, "role listed twice"},
      {codes::invalid_log_setting, "invalid log level or format"},
      {codes::inconsistent_values, "values contradict each other"},
      {codes::bad_key_file, "key file unreadable or too short"},
      {codes::invalid_choice, "value is not one of the accepted words"},
      {codes::invalid_text, "text with control characters, or too long"},
      {codes::tenant_pin_conflict, "dev mode acts for a tenant other than auth.tenant"},
  }};
  return table;
}

} // namespace troupe::config
