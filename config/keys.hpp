#pragma once
/// The one table of configuration keys. The loader reads files and TROUPE_*
/// variables through it, and the tests check the example file against it, so
/// a key added here is a key the example must document.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/node_config.hpp"

namespace troupe::config {

/// The member a key fills. Its type decides how a value is read: TOML string,
/// integer, boolean or array of strings.
template <class T> using accessor = T& (*)(node_config&);

using field_ref =
    std::variant<accessor<std::string>, accessor<std::vector<std::string>>,
                 accessor<std::vector<role>>, accessor<bool>, accessor<std::chrono::milliseconds>,
                 accessor<std::chrono::seconds>, accessor<std::chrono::hours>,
                 accessor<std::uint16_t>, accessor<std::uint32_t>, accessor<int>,
                 accessor<std::int64_t>, accessor<std::size_t>, accessor<troupe::log::format>>;

/// Checks that belong to a value whatever source it came from.
enum class value_rule : std::uint8_t {
  none,
  identifier,   ///< NATS subject token, E009
  nats_url,     ///< each list element, E005
  database_url, ///< E005
  log_level,    ///< E012
  key_file,     ///< E014, and resolved against the config file's folder
  readable_file, ///< E014 (any size), resolved like key_file
  path,         ///< E016 like text, resolved like key_file; need not exist yet
  text,         ///< E016: no control characters, at most 512 bytes
  host,         ///< host name or IP address, E005; empty is E006
  no_limit,     ///< integers: -1 ("no limit") is accepted besides [min, max], E003
};

struct key_spec {
  std::string_view section;
  std::string_view name;
  field_ref field;
  /// Inclusive bounds for integer keys (E003); ignored otherwise.
  std::int64_t min = 0;
  std::int64_t max = 0;
  value_rule rule = value_rule::none;
  /// An empty string means "not set": the default stays (node.id,
  /// bus.principal_key_file).
  bool empty_means_default = false;
};

/// Every key, grouped by section in file order.
std::span<const key_spec> known_keys();

/// The sections, in the order known_keys() first names them.
std::span<const std::string_view> known_sections();

/// nullptr when the key is not known.
const key_spec* find_key(std::string_view section, std::string_view name) noexcept;

/// "section.name".
std::string qualified_name(const key_spec& key);

/// TROUPE_<SECTION>_<NAME>, upper-case: TROUPE_ADMIN_PORT.
std::string env_name(const key_spec& key);

/// Short variables that set a key too: TROUPE_NATS_URL -> nats.urls. When an
/// alias and the key's own variable are both set they must agree (E013).
struct env_alias {
  std::string_view variable;
  std::string_view section;
  std::string_view name;
};
std::span<const env_alias> env_aliases() noexcept;

} // namespace troupe::config
