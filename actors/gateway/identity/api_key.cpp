#include "actors/gateway/identity/api_key.hpp"

#include <algorithm>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "actors/gateway/identity/errc.hpp"
#include "bus/subjects.hpp"
#include "storage/api_key_store.hpp"

namespace troupe::gateway::identity {

namespace {

constexpr std::string_view base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t sha256_bytes = 32;

bool all_base62(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(),
                     [](char ch) { return base62.find(ch) != std::string_view::npos; });
}

/// `n` characters, each uniform over base62: bytes >= 248 are dropped so
/// that `b % 62` has no bias (248 = 4 * 62).
caf::expected<std::string> random_base62(size_t n) {
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    if (RAND_bytes(buf, sizeof buf) != 1)
      return make_error(errc::random_failed, "the random generator failed");
    for (auto b : buf)
      if (b < 248 && out.size() < n)
        out += base62[b % 62];
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

} // namespace

std::optional<api_key_view> parse_api_key(std::string_view text) noexcept {
  constexpr auto size = api_key_prefix.size() + api_key_id_chars + 1 + api_key_secret_chars;
  if (text.size() != size || !text.starts_with(api_key_prefix))
    return std::nullopt;
  auto id = text.substr(api_key_prefix.size(), api_key_id_chars);
  auto separator = text[api_key_prefix.size() + api_key_id_chars];
  auto secret = text.substr(size - api_key_secret_chars);
  if (separator != '_' || !all_base62(id) || !all_base62(secret))
    return std::nullopt;
  return api_key_view{id, secret};
}

// A plain SHA-256, not a password hash: bcrypt or Argon2 slow down the guessing
// of low-entropy secrets. This secret holds 256 random bits, so recovering it
// from its hash costs about 2^256 tries however fast each one is; a fast hash
// also keeps a cache miss cheap.
std::string hash_api_key_secret(std::string_view secret) {
  std::string out(sha256_bytes, '\0');
  unsigned int size = 0;
  if (EVP_Digest(secret.data(), secret.size(), reinterpret_cast<unsigned char*>(out.data()), &size,
                 EVP_sha256(), nullptr)
          != 1
      || size != sha256_bytes)
    return {}; // matches nothing: api_key_secret_matches wants 32 bytes
  return out;
}

bool api_key_secret_matches(std::string_view secret, std::string_view stored_sha256) noexcept {
  try {
    auto hash = hash_api_key_secret(secret);
    return hash.size() == sha256_bytes && stored_sha256.size() == sha256_bytes
           && CRYPTO_memcmp(hash.data(), stored_sha256.data(), sha256_bytes) == 0;
  } catch (...) {
    return false; // allocation failure: refuse rather than throw into the caller
  }
}

caf::expected<issued_api_key> issue_api_key(storage::connection& conn, const std::string& tenant,
                                            const std::string& user, const std::string& name,
                                            const std::vector<std::string>& roles) {
  if (!bus::valid_token(tenant))
    return make_error(errc::invalid_argument,
                      "the tenant must be letters, digits, '-' and '_' only, and not empty");
  if (user.empty())
    return make_error(errc::invalid_argument, "the user must not be empty");
  if (std::any_of(roles.begin(), roles.end(), [](const auto& r) { return r.empty(); }))
    return make_error(errc::invalid_argument, "a role must not be empty");
  auto id = random_base62(api_key_id_chars);
  if (!id)
    return id.error();
  auto secret = random_base62(api_key_secret_chars);
  if (!secret)
    return secret.error();

  storage::api_key_record rec;
  rec.key_id = *id;
  rec.tenant = tenant;
  rec.user_id = user;
  rec.name = name;
  rec.secret_sha256 = hash_api_key_secret(*secret);
  rec.roles = roles;
  if (auto err = storage::create_api_key(conn, rec))
    return err;
  issued_api_key out{*id, std::string{api_key_prefix} + *id + "_" + *secret};
  OPENSSL_cleanse(secret->data(), secret->size());
  return out;
}

} // namespace troupe::gateway::identity
