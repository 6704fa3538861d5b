#include <unistd.h>

#include <string_view>

#include "config/load.hpp"

namespace troupe::config {

env_map troupe_environment() {
  env_map out;
  for (char** entry = ::environ; entry && *entry; ++entry) {
    std::string_view text{*entry};
    if (!text.starts_with("TROUPE_"))
      continue;
    auto eq = text.find('=');
    if (eq == std::string_view::npos)
      continue;
    out.emplace(std::string{text.substr(0, eq)}, std::string{text.substr(eq + 1)});
  }
  return out;
}

} // namespace troupe::config
