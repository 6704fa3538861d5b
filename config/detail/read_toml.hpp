#pragma once
/// The file reader: parses TOML with toml++ and hands every known key to
/// assign(); unknown sections and keys are E001, a parse failure E007.
#include <string>
#include <string_view>

#include "config/detail/load_state.hpp"

namespace troupe::config::detail {

/// False when the text does not parse (E007 reported): nothing was assigned.
bool read_toml(std::string_view text, const std::string& source, load_state& state);

} // namespace troupe::config::detail
