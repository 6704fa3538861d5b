#include "actors/gateway/identity/key_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "actors/gateway/identity/errc.hpp"

namespace troupe::gateway::identity {

caf::expected<std::string> read_key_file(const std::string& path, const std::string& what) {
  auto unreadable = [&](const std::string& why) {
    return make_error(errc::key_unreadable, "the " + what + " file " + path + " " + why);
  };
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec)
    return unreadable("cannot be read: " + ec.message());
  if (!std::filesystem::is_regular_file(status))
    return unreadable("is not a regular file");
  auto size = std::filesystem::file_size(path, ec);
  if (ec)
    return unreadable("cannot be read: " + ec.message());
  if (size > max_key_file_bytes)
    return unreadable("is larger than " + std::to_string(max_key_file_bytes) + " bytes");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return unreadable(std::string{"cannot be opened: "} + std::strerror(errno));
  std::string bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (in.bad())
    return unreadable("cannot be read");
  if (bytes.empty())
    return unreadable("is empty");
  return bytes;
}

} // namespace troupe::gateway::identity
