#include "actors/gateway/idempotency.hpp"

#include <array>
#include <openssl/evp.h>
#include <stdexcept>

namespace troupe::gateway {

turn_id idempotent_turn_id(const troupe::v1::Principal& who, std::string_view key) {
  // Lengths first, so that ("ab", "c") and ("a", "bc") never hash alike.
  std::string input;
  for (std::string_view part : {std::string_view{who.tenant()}, std::string_view{who.user()}, key}) {
    input += std::to_string(part.size());
    input += ':';
    input += part;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed in OpenSSL");
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (unsigned i = 0; i < 16; ++i) {
    id += hex[digest[i] >> 4];
    id += hex[digest[i] & 0xf];
  }
  return turn_id{std::move(id)};
}

std::string idempotent_session_key(std::string_view key) {
  return "idempotency-key:" + std::string{key};
}

} // namespace troupe::gateway
