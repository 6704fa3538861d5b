#pragma once
/// Mints JWTs for the tests with OpenSSL directly, sharing no code with the
/// verifier, so a bug there cannot cancel out here.
#include <memory>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <string>
#include <string_view>

namespace troupe::identity_test {

using json = nlohmann::json;

std::string b64url(std::string_view bytes);

/// HMAC over header.payload with `digest` ("SHA256", "SHA384").
std::string mint_hmac(const json& header, const json& claims, std::string_view secret,
                      const char* digest = "SHA256");

struct ed25519_key {
  std::shared_ptr<EVP_PKEY> pkey;
  std::string public_pem;
};

/// A fresh key pair of `type` ("ED25519", "X25519").
ed25519_key make_key(const char* type = "ED25519");

std::string mint_eddsa(const json& header, const json& claims, const ed25519_key& key);

/// header.payload.signature with the signature given as raw bytes.
std::string assemble(const json& header, const json& claims, std::string_view signature);

} // namespace troupe::identity_test
