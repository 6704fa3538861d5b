#include "config/node_config.hpp"

#include <unistd.h>

#include <array>
#include <climits>

namespace troupe::config {

std::string default_node_id() {
  std::array<char, HOST_NAME_MAX + 1> buf{};
  std::string name;
  if (::gethostname(buf.data(), buf.size() - 1) == 0)
    name = buf.data();
  for (char& c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-';
    if (!ok)
      c = '-';
  }
  if (name.size() > 64)
    name.resize(64);
  return name.empty() ? "node" : name;
}

} // namespace troupe::config
