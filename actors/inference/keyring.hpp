#pragma once
/// The master key that seals provider API keys at rest (AES-256-GCM), kept in
/// a 32-byte file readable by its owner only. Whoever holds the file can read
/// every stored provider key: back it up like one, never commit it.
///
/// Sealed layout: version (1 byte, 0x01) | nonce (12 random bytes) |
/// ciphertext | tag (16 bytes). The caller's `aad` (the provider's name) is
/// authenticated with it, so a sealed key copied to another provider's row
/// does not open. Key bytes never appear in an error or a log line.
///
/// Immutable after open_or_create: seal/open may be called from any thread.
#include <caf/expected.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace troupe::inference {

/// Where the master key lives when inference.master_key_file is empty
/// (relative to the working folder).
constexpr std::string_view default_master_key_file = ".troupe/master.key";

class keyring {
public:
  static constexpr size_t key_size = 32;

  /// Reads the master key at `path`. When the file does not exist, creates it
  /// from fresh random bytes (mode 0600, parent folders 0700, written to a
  /// temporary file that is linked into place, so a reader never sees half a
  /// key and two processes racing agree on one key). errc::key_store_error
  /// for a file that group or others may access, that is not a regular file,
  /// or that does not hold exactly 32 bytes, and for any I/O failure.
  [[nodiscard]] static caf::expected<keyring> open_or_create(const std::filesystem::path& path);

  keyring(keyring&&) noexcept;
  keyring& operator=(keyring&&) noexcept;
  ~keyring(); // wipes the key

  /// `plaintext` sealed under the master key with `aad` authenticated.
  /// errc::key_store_error when OpenSSL fails.
  [[nodiscard]] caf::expected<std::string> seal(std::string_view plaintext,
                                                std::string_view aad) const;

  /// The plaintext of `sealed`. errc::key_store_error when it is malformed,
  /// of an unknown version, altered, sealed under another master key or with
  /// another `aad`.
  [[nodiscard]] caf::expected<std::string> open(std::string_view sealed,
                                                std::string_view aad) const;

  /// Opaque outside keyring.cpp: the key bytes, and the deleter that wipes them.
  struct secret;
  struct wipe {
    void operator()(secret* s) const noexcept;
  };

private:
  explicit keyring(std::unique_ptr<secret, wipe> key) noexcept;
  std::unique_ptr<secret, wipe> key_;
};

} // namespace troupe::inference
