#pragma once
/// Reading a key an operator keeps in a file, with errors that say which
/// file and what is wrong with it.
#include <caf/expected.hpp>
#include <string>

namespace troupe::gateway::identity {

/// Larger files are refused: no key of ours is anywhere near this size.
inline constexpr size_t max_key_file_bytes = 64 * 1024;

/// The exact bytes of `path`. `what` names the key in messages ("HS256
/// secret"). errc::key_unreadable when the file is missing, not a regular
/// file, unreadable or larger than max_key_file_bytes.
[[nodiscard]] caf::expected<std::string> read_key_file(const std::string& path,
                                                       const std::string& what);

} // namespace troupe::gateway::identity
