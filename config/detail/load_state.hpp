#pragma once
/// What the readers (file, environment) hand the shared checks: values
/// already split into typed items with their positions, so a rule is written
/// once and reports the same code whichever source broke it.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/detail/report.hpp"
#include "config/keys.hpp"
#include "config/node_config.hpp"

namespace troupe::config::detail {

struct raw_item {
  std::variant<std::string, std::int64_t, bool> value;
  position at;
};

struct raw_value {
  bool is_list = false;
  /// Exactly one item unless is_list.
  std::vector<raw_item> items;
  /// The value as a whole (for a list: where it starts).
  position at;
};

/// How a key's value is written, decided by the type of the member it fills.
enum class value_kind : std::uint8_t { string, string_list, integer, boolean };

value_kind kind_of(const key_spec& key);

/// "a string", "an array of strings", ... for messages.
std::string_view kind_name(value_kind kind);

struct load_state {
  node_config config;
  report problems;
  /// Where the value now in force came from, for keys that were set.
  std::map<const key_spec*, position> origins;
  /// Keys some source gave a value for, accepted or not. A key given but
  /// not in `origins` was rejected: checks across keys skip it rather than
  /// report its default as the operator's mistake.
  std::set<const key_spec*> given;

  bool rejected(const key_spec* key) const { return given.count(key) && !origins.count(key); }
  /// Folder that relative key file paths from the file are taken against.
  std::string base_dir;
};

} // namespace troupe::config::detail
