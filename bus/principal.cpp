#include "bus/principal.hpp"

#include <array>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <vector>

#include "bus/errc.hpp"
#include "bus/subjects.hpp"

namespace troupe::bus {

namespace {

using tag = std::array<unsigned char, 32>;

struct mac_deleter {
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
struct mac_ctx_deleter {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
using mac_ptr = std::unique_ptr<EVP_MAC, mac_deleter>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter>;

/// A secret that is wiped from memory when the key set goes away.
struct key {
  std::string id;
  std::string secret;
  key(std::string i, std::string_view s) : id(std::move(i)), secret(s) {}
  key(const key&) = delete;
  key& operator=(const key&) = delete;
  key(key&& other) noexcept = default;
  key& operator=(key&&) noexcept = default;
  ~key() {
    if (!secret.empty())
      OPENSSL_cleanse(secret.data(), secret.size());
  }
};

caf::error invalid(std::string why) {
  return make_error(errc::principal_invalid, std::move(why));
}

} // namespace

struct principal_keys::impl {
  mac_ptr mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  std::vector<key> keys;

  const key* find(std::string_view id) const noexcept {
    for (const auto& k : keys)
      if (k.id == id)
        return &k;
    return nullptr;
  }

  /// HMAC-SHA256(secret, data); nullopt-like false when OpenSSL fails.
  bool hmac(const key& k, std::string_view data, tag& out) const {
    if (!mac)
      return false;
    mac_ctx_ptr ctx{EVP_MAC_CTX_new(mac.get())};
    if (!ctx)
      return false;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    size_t len = 0;
    return EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(k.secret.data()),
                        k.secret.size(), params)
             == 1
           && EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size())
                == 1
           && EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 && len == out.size();
  }

  caf::expected<troupe::v1::SignedPrincipal> sign(const troupe::v1::Principal& p,
                                                  const key& k) const {
    troupe::v1::SignedPrincipal out;
    if (!p.SerializeToString(out.mutable_principal()))
      return invalid("principal does not serialize");
    tag t;
    if (!hmac(k, out.principal(), t))
      return invalid("HMAC-SHA256 failed in OpenSSL");
    out.set_key_id(k.id);
    out.set_signature(reinterpret_cast<const char*>(t.data()), t.size());
    return out;
  }
};

principal_keys::principal_keys() : impl_(std::make_unique<impl>()) {}
principal_keys::~principal_keys() = default;
principal_keys::principal_keys(principal_keys&&) noexcept = default;
principal_keys& principal_keys::operator=(principal_keys&&) noexcept = default;

caf::error principal_keys::add(std::string key_id, std::string_view secret) {
  if (!valid_token(key_id))
    return invalid("key id '" + key_id + "' is not a token of [A-Za-z0-9_-]");
  if (secret.size() < min_secret_bytes)
    return invalid("secret for key '" + key_id + "' has " + std::to_string(secret.size())
                   + " bytes, needs at least " + std::to_string(min_secret_bytes));
  if (impl_->find(key_id))
    return invalid("key '" + key_id + "' is already loaded");
  impl_->keys.emplace_back(std::move(key_id), secret);
  return caf::none;
}

bool principal_keys::empty() const noexcept {
  return impl_->keys.empty();
}

caf::expected<troupe::v1::SignedPrincipal>
principal_keys::sign(const troupe::v1::Principal& principal) const {
  if (impl_->keys.empty())
    return invalid("no principal key is loaded");
  return impl_->sign(principal, impl_->keys.back());
}

caf::expected<troupe::v1::SignedPrincipal>
principal_keys::sign(const troupe::v1::Principal& principal, std::string_view key_id) const {
  const auto* k = impl_->find(key_id);
  if (!k)
    return invalid("unknown key id '" + std::string{key_id} + "'");
  return impl_->sign(principal, *k);
}

caf::expected<troupe::v1::Principal>
principal_keys::verify(const troupe::v1::SignedPrincipal& sp, int64_t now_unix_ms) const {
  const auto* k = impl_->find(sp.key_id());
  if (!k)
    return invalid("unknown key id");
  tag expected;
  if (!impl_->hmac(*k, sp.principal(), expected))
    return invalid("HMAC-SHA256 failed in OpenSSL");
  if (sp.signature().size() != expected.size()
      || CRYPTO_memcmp(sp.signature().data(), expected.data(), expected.size()) != 0)
    return invalid("bad signature");
  troupe::v1::Principal p;
  if (!p.ParseFromString(sp.principal()))
    return invalid("signed bytes are not a Principal");
  if (p.expires_unix_ms() == 0)
    return invalid("principal has no expiry");
  if (now_unix_ms >= p.expires_unix_ms())
    return invalid("principal expired");
  return p;
}

} // namespace troupe::bus
