#include "actors/inference/keyring.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "actors/inference/errc.hpp"
#include "common/logging.hpp"

namespace troupe::inference {

struct keyring::secret {
  unsigned char bytes[key_size];
};

void keyring::wipe::operator()(secret* s) const noexcept {
  OPENSSL_cleanse(s->bytes, sizeof(s->bytes));
  delete s;
}

namespace {

namespace fs = std::filesystem;

using secret_ptr = std::unique_ptr<keyring::secret, keyring::wipe>;

constexpr unsigned char format_version = 1;
constexpr size_t nonce_size = 12;
constexpr size_t tag_size = 16;
constexpr size_t max_plaintext = 64 * 1024; // API keys are short; keeps sizes within int

struct fd_closer {
  int fd = -1;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

struct cipher_ctx_free {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free>;

caf::error key_error(std::string what) {
  return make_error(errc::key_store_error, std::move(what));
}

caf::error file_error(const fs::path& path, const std::string& what) {
  return key_error("master key file " + path.string() + ": " + what);
}

caf::error errno_error(const fs::path& path, const std::string& doing) {
  return file_error(path, doing + ": " + std::strerror(errno));
}

/// The first queued OpenSSL error as text; empties the queue so it never
/// leaks into an unrelated later failure.
std::string openssl_error(const char* doing) {
  std::string out = doing;
  if (auto code = ERR_get_error(); code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

/// The key held by the open file `fd`, after checking what kind of file it is.
caf::expected<secret_ptr> read_key(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return errno_error(path, "cannot stat");
  if (!S_ISREG(st.st_mode))
    return file_error(path, "is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return file_error(path, std::string{"has mode "} + mode +
                              ": group and others must have no access (chmod 600 " +
                              path.string() + ")");
  }
  if (st.st_size != static_cast<off_t>(keyring::key_size))
    return file_error(path, "holds " + std::to_string(st.st_size) + " bytes; a master key is " +
                              std::to_string(keyring::key_size));
  secret_ptr key{new keyring::secret{}};
  size_t got = 0;
  while (got < keyring::key_size) {
    auto n = ::read(fd, key->bytes + got, keyring::key_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno_error(path, "cannot read");
    if (n == 0)
      return file_error(path, "shrank while being read");
    got += static_cast<size_t>(n);
  }
  return key;
}

caf::error make_private_dirs(const fs::path& dir) {
  std::error_code ec;
  if (dir.empty() || fs::is_directory(dir, ec))
    return caf::none;
  if (auto err = make_private_dirs(dir.parent_path()))
    return err;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error(dir, "cannot create its folder");
  return caf::none;
}

caf::error write_all(int fd, const unsigned char* data, size_t size, const fs::path& path) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno_error(path, "cannot write");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return caf::none;
}

/// Writes a fresh key to a temporary file and links it to `path`. link()
/// never replaces an existing file, so when another process won the race
/// the result is nullopt and the caller reads the winner's key.
caf::expected<std::optional<secret_ptr>> create_key(const fs::path& path) {
  if (auto err = make_private_dirs(path.parent_path()))
    return err;
  secret_ptr key{new keyring::secret{}};
  unsigned char suffix[8];
  if (RAND_bytes(key->bytes, keyring::key_size) != 1 || RAND_bytes(suffix, sizeof(suffix)) != 1)
    return key_error(openssl_error("cannot draw random bytes for a master key"));
  auto tmp = path;
  tmp += ".tmp-";
  for (auto b : suffix) {
    char hex[3];
    std::snprintf(hex, sizeof(hex), "%02x", b);
    tmp += hex;
  }
  {
    fd_closer out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (out.fd < 0)
      return errno_error(tmp, "cannot create");
    auto err = write_all(out.fd, key->bytes, keyring::key_size, tmp);
    // The umask may only take bits away; 0600 must hold whatever it is.
    if (!err && (::fchmod(out.fd, 0600) != 0 || ::fsync(out.fd) != 0))
      err = errno_error(tmp, "cannot finish");
    if (err) {
      ::unlink(tmp.c_str());
      return err;
    }
  }
  int linked = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST)
      return std::optional<secret_ptr>{};
    errno = link_errno;
    return errno_error(path, "cannot put the new key in place");
  }
  auto dir = path.parent_path().empty() ? fs::path{"."} : path.parent_path();
  fd_closer d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0)
    ::fsync(d.fd);
  log::get("inference")->info("created master key file {}: back it up, stored provider keys "
                              "cannot be decrypted without it",
                              path.string());
  return std::optional<secret_ptr>{std::move(key)};
}

} // namespace

keyring::keyring(std::unique_ptr<secret, wipe> key) noexcept : key_(std::move(key)) {}
keyring::keyring(keyring&&) noexcept = default;
keyring& keyring::operator=(keyring&&) noexcept = default;
keyring::~keyring() = default;

caf::expected<keyring> keyring::open_or_create(const fs::path& path) {
  // Two rounds: a lost creation race leaves the winner's file to read.
  for (int round = 0; round < 2; ++round) {
    fd_closer in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.fd >= 0) {
      auto key = read_key(in.fd, path);
      if (!key)
        return key.error();
      return keyring{std::move(*key)};
    }
    if (errno != ENOENT)
      return errno_error(path, "cannot open");
    auto created = create_key(path);
    if (!created)
      return created.error();
    if (*created)
      return keyring{std::move(**created)};
  }
  return file_error(path, "appeared and vanished while being created");
}

caf::expected<std::string> keyring::seal(std::string_view plaintext, std::string_view aad) const {
  if (plaintext.size() > max_plaintext || aad.size() > max_plaintext)
    return key_error("refusing to seal more than 64 KiB");
  std::string out(1 + nonce_size + plaintext.size() + tag_size, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  bytes[0] = format_version;
  unsigned char* nonce = bytes + 1;
  unsigned char* body = nonce + nonce_size;
  if (RAND_bytes(nonce, nonce_size) != 1)
    return key_error(openssl_error("cannot draw a nonce"));
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  int tail = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_->bytes, nonce) == 1
            && EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes, 1) == 1
            && EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                                 reinterpret_cast<const unsigned char*>(aad.data()),
                                 static_cast<int>(aad.size())) == 1
            && EVP_EncryptUpdate(ctx.get(), body, &len,
                                 reinterpret_cast<const unsigned char*>(plaintext.data()),
                                 static_cast<int>(plaintext.size())) == 1
            && EVP_EncryptFinal_ex(ctx.get(), body + len, &tail) == 1
            && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size,
                                   body + plaintext.size()) == 1;
  if (!ok)
    return key_error(openssl_error("AES-256-GCM sealing failed"));
  return out;
}

caf::expected<std::string> keyring::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < 1 + nonce_size + tag_size || sealed.size() > 1 + nonce_size + max_plaintext + tag_size)
    return key_error("a sealed key of " + std::to_string(sealed.size()) + " bytes is malformed");
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  if (bytes[0] != format_version)
    return key_error("a sealed key has unknown format version " + std::to_string(bytes[0]));
  const unsigned char* nonce = bytes + 1;
  const unsigned char* body = nonce + nonce_size;
  size_t body_size = sealed.size() - 1 - nonce_size - tag_size;
  unsigned char tag[tag_size];
  std::memcpy(tag, body + body_size, tag_size);
  std::string out(body_size, '\0');
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  int len = 0;
  int tail = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_->bytes, nonce) == 1
            && EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes, 1) == 1
            && EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                                 reinterpret_cast<const unsigned char*>(aad.data()),
                                 static_cast<int>(aad.size())) == 1
            && EVP_DecryptUpdate(ctx.get(), plain, &len, body, static_cast<int>(body_size)) == 1
            && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size, tag) == 1
            && EVP_DecryptFinal_ex(ctx.get(), plain + len, &tail) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    ERR_clear_error();
    return key_error("a sealed key does not open: another master key, another provider's "
                     "value, or altered bytes");
  }
  return out;
}

} // namespace troupe::inference
