#include "actors/gateway/identity/base64url.hpp"

#include <openssl/evp.h>

namespace troupe::gateway::identity {

namespace {

/// The standard-alphabet spelling of a base64url character, or '\0'.
char to_standard(char ch) noexcept {
  if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
    return ch;
  if (ch == '-')
    return '+';
  if (ch == '_')
    return '/';
  return '\0';
}

} // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1)
    return std::nullopt; // 6 bits cannot make a byte
  // OpenSSL decodes the standard alphabet with padding: translate, pad.
  std::string standard;
  standard.reserve(text.size() + 3);
  for (char ch : text) {
    auto s = to_standard(ch);
    if (s == '\0')
      return std::nullopt;
    standard += s;
  }
  auto padding = (4 - text.size() % 4) % 4;
  standard.append(padding, '=');

  std::string out(standard.size() / 4 * 3, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(standard.data()),
                           static_cast<int>(standard.size()));
  if (n < 0 || static_cast<size_t>(n) < padding)
    return std::nullopt;
  out.resize(static_cast<size_t>(n) - padding); // EVP_DecodeBlock counts padding as zero bytes

  // Unused low bits of the last character must be zero: re-encoding must give
  // back exactly what came in.
  std::string again(standard.size() + 1, '\0');
  auto m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(again.data()),
                           reinterpret_cast<const unsigned char*>(out.data()),
                           static_cast<int>(out.size()));
  if (m < 0 || std::string_view{again.data(), static_cast<size_t>(m)} != standard)
    return std::nullopt;
  return out;
}

} // namespace troupe::gateway::identity
