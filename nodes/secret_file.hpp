#pragma once
/// A key file the node makes for itself on first start (the principal key of
/// a single-machine cluster): random bytes, mode 0600, in a 0700 folder,
/// created atomically so two nodes starting at once end up with one key.
#include <caf/expected.hpp>
#include <cstddef>
#include <filesystem>
#include <string>

namespace troupe::node {

/// The bytes of `path`, creating it with `size` random bytes when missing.
/// errc::startup_failed when it cannot be read or created, when it is
/// readable by group or others, or when it holds fewer than `size` bytes.
[[nodiscard]] caf::expected<std::string> read_or_create_secret(const std::filesystem::path& path,
                                                               size_t size);

} // namespace troupe::node
