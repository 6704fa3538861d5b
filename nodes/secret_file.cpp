#include "nodes/secret_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/envelope_codec.hpp"
#include "nodes/errc.hpp"

namespace troupe::node {

namespace {

namespace fs = std::filesystem;

caf::error failed(const fs::path& path, const std::string& what) {
  return make_error(errc::startup_failed, path.string() + ": " + what);
}

caf::expected<std::string> read_existing(const fs::path& path, size_t size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return failed(path, std::strerror(errno));
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return failed(path, "readable by group or others; chmod 600 it");
  std::ifstream in{path, std::ios::binary};
  std::string bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (!in.good() && !in.eof())
    return failed(path, "cannot be read");
  if (bytes.size() < size)
    return failed(path, "holds " + std::to_string(bytes.size()) + " bytes, needs "
                            + std::to_string(size));
  return bytes;
}

} // namespace

caf::expected<std::string> read_or_create_secret(const fs::path& path, size_t size) {
  std::error_code ec;
  if (fs::exists(path, ec))
    return read_existing(path, size);
  if (path.has_parent_path() && !fs::exists(path.parent_path(), ec)) {
    fs::create_directories(path.parent_path(), ec);
    if (ec)
      return failed(path.parent_path(), ec.message());
    fs::permissions(path.parent_path(), fs::perms::owner_all, ec);
  }
  std::string secret(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(size)) != 1)
    return failed(path, "no random bytes");
  auto tmp = path;
  tmp += "." + bus::new_message_id() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return failed(tmp, std::strerror(errno));
  bool written = ::write(fd, secret.data(), size) == static_cast<ssize_t>(size) && ::fsync(fd) == 0;
  ::close(fd);
  // link() never replaces: of two nodes racing, the second keeps the first's key.
  bool linked = written && ::link(tmp.c_str(), path.c_str()) == 0;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!written)
    return failed(tmp, "cannot be written");
  if (!linked && link_errno != EEXIST)
    return failed(path, std::strerror(link_errno));
  return read_existing(path, size);
}

} // namespace troupe::node
