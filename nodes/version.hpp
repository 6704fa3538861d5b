#pragma once
#include <string_view>

namespace troupe::node {

/// The version of this build, from the CMake project version.
inline constexpr std::string_view version = TROUPE_VERSION;

} // namespace troupe::node
