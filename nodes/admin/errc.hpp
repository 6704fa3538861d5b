#pragma once
/// The admin server's error codes (stable names, category atom "admin").
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::admin {

enum class errc : uint8_t {
  unknown = 1,
  listen_failed, // the address cannot be bound (in use, not local, no permission)
};

std::string_view to_string(errc code) noexcept;
constexpr caf::atom_value error_category = caf::atom("admin");
caf::error make_error(errc code, std::string context);

} // namespace troupe::admin
