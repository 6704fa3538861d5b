#pragma once
/// One thing wrong with a configuration, with a code that never changes
/// meaning: operators grep for codes and scripts match on them, so a code is
/// retired rather than reused. The full table is in config/README.md.
#include <span>
#include <string>
#include <string_view>

namespace troupe::config {

struct problem {
  /// "E001".."E017".
  std::string code;
  /// What is wrong and, where it helps, what would be accepted.
  std::string message;
  /// "file:3:1", "env TROUPE_X", a bare file name when the problem belongs to
  /// no single line, or empty when there is no file at all.
  std::string where;
};

/// "E001 unknown key 'node.x' at troupe.toml:3:1".
std::string describe(const problem& p);

namespace codes {
inline constexpr std::string_view unknown_key = "E001";
inline constexpr std::string_view wrong_type = "E002";
inline constexpr std::string_view out_of_range = "E003";
inline constexpr std::string_view unknown_role = "E004";
inline constexpr std::string_view invalid_url = "E005";
inline constexpr std::string_view missing_value = "E006";
inline constexpr std::string_view syntax_error = "E007";
inline constexpr std::string_view unreadable_file = "E008";
inline constexpr std::string_view invalid_identifier = "E009";
inline constexpr std::string_view bad_env_value = "E010";
inline constexpr std::string_view duplicate_role = "E011";
inline constexpr std::string_view invalid_log_setting = "E012";
inline constexpr std::string_view inconsistent_values = "E013";
inline constexpr std::string_view bad_key_file = "E014";
inline constexpr std::string_view invalid_choice = "E015";
inline constexpr std::string_view invalid_text = "E016";
inline constexpr std::string_view tenant_pin_conflict = "E017";
} // namespace codes

struct code_info {
  std::string_view code;
  std::string_view summary;
};

/// Every code with a one-line summary, in code order: the README's table and
/// the tests are checked against this list.
std::span<const code_info> all_codes() noexcept;

} // namespace troupe::config
