#include "tests/identity/jwt_mint.hpp"

#include <openssl/pem.h>
#include <stdexcept>

namespace troupe::identity_test {

std::string b64url(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()),
                           static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (auto& ch : out)
    ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  return out;
}

std::string assemble(const json& header, const json& claims, std::string_view signature) {
  return b64url(header.dump()) + "." + b64url(claims.dump()) + "." + b64url(signature);
}

std::string mint_hmac(const json& header, const json& claims, std::string_view secret,
                      const char* digest) {
  auto input = b64url(header.dump()) + "." + b64url(claims.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, secret.data(), secret.size(),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                 sizeof mac, &len))
    throw std::runtime_error("HMAC failed");
  return input + "." + b64url({reinterpret_cast<char*>(mac), len});
}

ed25519_key make_key(const char* type) {
  ed25519_key k;
  k.pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, type), EVP_PKEY_free);
  if (!k.pkey)
    throw std::runtime_error("keygen failed");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), BIO_free};
  PEM_write_bio_PUBKEY(bio.get(), k.pkey.get());
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  k.public_pem.assign(data, static_cast<size_t>(len));
  return k;
}

std::string mint_eddsa(const json& header, const json& claims, const ed25519_key& key) {
  auto input = b64url(header.dump()) + "." + b64url(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  unsigned char sig[64];
  size_t len = sizeof sig;
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey.get()) != 1
      || EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(input.data()),
                        input.size())
             != 1)
    throw std::runtime_error("Ed25519 signing failed");
  return input + "." + b64url({reinterpret_cast<char*>(sig), len});
}

} // namespace troupe::identity_test
