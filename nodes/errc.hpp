#pragma once
/// The node's error codes (stable names, category atom "node").
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::node {

enum class errc : uint8_t {
  unknown = 1,
  service_unavailable, // a role service could not register with the bridge
  startup_failed,      // a start-up input (e.g. the principal key file) is unusable
};

std::string_view to_string(errc code) noexcept;
constexpr caf::atom_value error_category = caf::atom("node");
caf::error make_error(errc code, std::string context);

} // namespace troupe::node
