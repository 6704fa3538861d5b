#include "actors/gateway/identity/jwt_verifier.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <optional>
#include <variant>

#include "actors/gateway/identity/auth_errors.hpp"
#include "actors/gateway/identity/base64url.hpp"
#include "actors/gateway/identity/errc.hpp"
#include "actors/gateway/identity/key_file.hpp"
#include "actors/gateway/identity/openssl_handles.hpp"
#include "bus/subjects.hpp"

namespace troupe::gateway::identity {

using json = nlohmann::json;
using principal_result = result<troupe::v1::Principal>;

namespace {

/// What the claims must satisfy besides the signature.
struct claim_rules {
  std::string issuer;
  std::string audience;
  int64_t leeway_ms = 0;
  std::string tenant_claim;
  std::string pinned_tenant;
};

} // namespace

struct jwt_verifier::impl {
  std::string secret;
  evp_pkey_ptr ed25519;
  claim_rules rules;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { OPENSSL_cleanse(secret.data(), secret.size()); }
};

namespace {

constexpr std::chrono::seconds max_leeway{3600};
// The config allows 512 bytes of text; no identity provider needs more.
constexpr size_t max_claim_name_bytes = 512;
constexpr size_t hs256_signature_bytes = 32;
constexpr size_t ed25519_signature_bytes = 64;
// NumericDate bounds we accept: 1970 up to the end of year 9999. Keeps every
// later conversion to milliseconds inside int64_t.
constexpr double max_numeric_date = 253402300799.0;

/// Why `secret` cannot be an HS256 key, or nullopt when it can.
std::optional<std::string> secret_problem(const std::string& secret) {
  if (secret.size() >= jwt_verifier::min_hs256_secret_bytes)
    return std::nullopt;
  return "the HS256 secret is " + std::to_string(secret.size()) + " bytes; at least "
         + std::to_string(jwt_verifier::min_hs256_secret_bytes) + " are required";
}

/// Why the tenant options cannot be used, or nullopt when they can. The claim
/// name is quoted in refusals sent to clients and logs: no control characters.
std::optional<std::string> tenant_problem(const jwt_options& opts) {
  if (opts.tenant_claim.empty() || opts.tenant_claim.size() > max_claim_name_bytes)
    return "the tenant claim name must be 1 to " + std::to_string(max_claim_name_bytes) + " bytes";
  for (unsigned char c : opts.tenant_claim)
    if (c < 0x20 || c == 0x7f)
      return std::string{"the tenant claim name must not hold control characters"};
  if (!opts.tenant.empty() && !bus::valid_token(opts.tenant))
    return std::string{"the pinned tenant must be letters, digits, '-' and '_' only"};
  return std::nullopt;
}

/// The Ed25519 public key in `pem`, or why there is none.
std::variant<evp_pkey_ptr, std::string> parse_public_key(const std::string& pem) {
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  evp_pkey_ptr key{bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr};
  ERR_clear_error(); // the queue is per thread: leave nothing for unrelated code
  if (!key)
    return std::string{"no PEM public key (\"BEGIN PUBLIC KEY\") found"};
  if (EVP_PKEY_is_a(key.get(), "ED25519") != 1)
    return std::string{"the public key is not an Ed25519 key"};
  return key;
}

/// The JSON object a token segment encodes, or nullopt.
std::optional<json> decode_object(std::string_view segment) {
  auto bytes = base64url_decode(segment);
  if (!bytes)
    return std::nullopt;
  auto doc = json::parse(*bytes, nullptr, false);
  if (!doc.is_object())
    return std::nullopt;
  return doc;
}

bool hs256_matches(const std::string& secret, std::string_view input, const std::string& sig) {
  if (sig.size() != hs256_signature_bytes)
    return false;
  unsigned char mac[hs256_signature_bytes];
  size_t len = 0;
  auto* done = EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                         sizeof mac, &len);
  return done != nullptr && len == sizeof mac && CRYPTO_memcmp(mac, sig.data(), sizeof mac) == 0;
}

bool ed25519_matches(EVP_PKEY* key, std::string_view input, const std::string& sig) {
  if (sig.size() != ed25519_signature_bytes)
    return false;
  evp_md_ctx_ptr ctx{EVP_MD_CTX_new()};
  auto ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) == 1
      && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size())
             == 1;
  ERR_clear_error();
  return ok;
}

/// `alg` quoted for a message when it is short and printable, else empty:
/// the text goes back to the client and into logs.
std::string quoted(const json& alg) {
  if (!alg.is_string())
    return {};
  const auto& s = alg.get_ref<const std::string&>();
  if (s.empty() || s.size() > 16)
    return {};
  for (char ch : s)
    if (ch < 0x21 || ch > 0x7e || ch == '\'')
      return {};
  return " '" + s + "'";
}

/// A NumericDate (seconds, possibly fractional) in milliseconds, or nullopt.
std::optional<int64_t> numeric_date_ms(const json& v) {
  if (!v.is_number())
    return std::nullopt;
  auto seconds = v.get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > max_numeric_date)
    return std::nullopt;
  return static_cast<int64_t>(seconds * 1000.0);
}

bool audience_matches(const json& claims, const std::string& audience) {
  auto it = claims.find("aud");
  if (it == claims.end())
    return false;
  if (it->is_string())
    return *it == audience;
  if (!it->is_array())
    return false;
  for (const auto& a : *it)
    if (a.is_string() && a == audience)
      return true;
  return false;
}

/// A required non-empty string claim, or nullptr.
const std::string* string_claim(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return nullptr;
  return &it->get_ref<const std::string&>();
}

/// The tenant the token acts for, or its refusal. A pinned gateway answers a
/// foreign tenant with 403, not 401: the token is good, just not for here.
std::variant<std::string, api_error> tenant_of(const json& claims, const claim_rules& k) {
  auto it = claims.find(k.tenant_claim);
  if (it == claims.end()) {
    if (!k.pinned_tenant.empty())
      return k.pinned_tenant;
    return invalid_token("the token has no tenant claim '" + k.tenant_claim + "'");
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return invalid_token("the tenant claim '" + k.tenant_claim + "' must be a non-empty string");
  const auto& tenant = it->get_ref<const std::string&>();
  if (!bus::valid_token(tenant))
    return invalid_token("the tenant claim '" + k.tenant_claim
                         + "' may hold only letters, digits, '-' and '_'");
  if (!k.pinned_tenant.empty() && tenant != k.pinned_tenant)
    return tenant_mismatch("the token's tenant is not the tenant this gateway serves");
  return tenant;
}

principal_result to_principal(const json& claims, const claim_rules& k, int64_t now_ms) {
  auto exp_it = claims.find("exp");
  if (exp_it == claims.end())
    return invalid_token("the token has no exp claim");
  auto exp = numeric_date_ms(*exp_it);
  if (!exp)
    return invalid_token("the exp claim is not a valid date");
  if (now_ms >= *exp + k.leeway_ms)
    return invalid_token("the token has expired");
  if (auto nbf_it = claims.find("nbf"); nbf_it != claims.end()) {
    auto nbf = numeric_date_ms(*nbf_it);
    if (!nbf)
      return invalid_token("the nbf claim is not a valid date");
    if (now_ms + k.leeway_ms < *nbf)
      return invalid_token("the token is not yet valid");
  }
  std::optional<int64_t> iat;
  if (auto iat_it = claims.find("iat"); iat_it != claims.end())
    if (iat = numeric_date_ms(*iat_it); !iat)
      return invalid_token("the iat claim is not a valid date");
  if (!k.issuer.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() || *iss != k.issuer)
      return invalid_token("wrong issuer");
  }
  if (!k.audience.empty() && !audience_matches(claims, k.audience))
    return invalid_token("wrong audience");
  auto tenant = tenant_of(claims, k);
  if (auto* refused = std::get_if<api_error>(&tenant))
    return std::move(*refused);
  auto* sub = string_claim(claims, "sub");
  if (!sub)
    return invalid_token("the token has no sub claim");

  troupe::v1::Principal p;
  p.set_tenant(std::move(std::get<std::string>(tenant)));
  p.set_user(*sub);
  if (auto roles = claims.find("roles"); roles != claims.end()) {
    if (!roles->is_array())
      return invalid_token("the roles claim must be an array of strings");
    for (const auto& r : *roles) {
      if (!r.is_string())
        return invalid_token("the roles claim must be an array of strings");
      p.add_roles(r.get<std::string>());
    }
  }
  p.set_issued_unix_ms(iat.value_or(now_ms));
  p.set_expires_unix_ms(*exp);
  return p;
}

} // namespace

jwt_verifier::jwt_verifier(std::shared_ptr<const impl> p) noexcept : impl_(std::move(p)) {}

caf::expected<jwt_verifier> jwt_verifier::make(jwt_options opts) {
  if (opts.hs256_secret.empty() && opts.ed25519_public_key_pem.empty())
    return make_error(errc::options_invalid,
                      "no JWT key configured: set an HS256 secret or an Ed25519 public key");
  if (opts.leeway < std::chrono::seconds{0} || opts.leeway > max_leeway)
    return make_error(errc::options_invalid, "the JWT leeway must be between 0 and "
                                                 + std::to_string(max_leeway.count()) + " s");
  if (auto problem = tenant_problem(opts))
    return make_error(errc::options_invalid, *problem);
  auto k = std::make_shared<impl>();
  if (!opts.hs256_secret.empty()) {
    if (auto problem = secret_problem(opts.hs256_secret))
      return make_error(errc::key_invalid, *problem);
    k->secret = std::move(opts.hs256_secret);
  }
  if (!opts.ed25519_public_key_pem.empty()) {
    auto key = parse_public_key(opts.ed25519_public_key_pem);
    if (auto* problem = std::get_if<std::string>(&key))
      return make_error(errc::key_invalid, *problem);
    k->ed25519 = std::move(std::get<evp_pkey_ptr>(key));
  }
  k->rules.issuer = std::move(opts.issuer);
  k->rules.audience = std::move(opts.audience);
  k->rules.leeway_ms = std::chrono::milliseconds{opts.leeway}.count();
  k->rules.tenant_claim = std::move(opts.tenant_claim);
  k->rules.pinned_tenant = std::move(opts.tenant);
  return jwt_verifier{std::move(k)};
}

const std::string& jwt_verifier::tenant() const noexcept { return impl_->rules.pinned_tenant; }

principal_result jwt_verifier::verify(std::string_view token,
                                      std::chrono::system_clock::time_point now) const {
  if (token.size() > max_token_bytes)
    return invalid_token("the token is larger than " + std::to_string(max_token_bytes) + " bytes");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return invalid_token("malformed token: a JWT has three dot-separated parts");
  auto header = decode_object(token.substr(0, dot1));
  if (!header)
    return invalid_token("malformed token header");
  if (header->contains("crit"))
    return invalid_token("critical header parameters are not supported");
  const auto& k = *impl_;
  auto alg = header->find("alg");
  if (alg == header->end())
    return invalid_token("the token header has no alg");
  bool hs256 = *alg == "HS256";
  bool eddsa = *alg == "EdDSA";
  if (!hs256 && !eddsa)
    return invalid_token("alg" + quoted(*alg) + " is not allowed");
  if (hs256 && k.secret.empty())
    return invalid_token("alg 'HS256' is not allowed: no HS256 key is configured");
  if (eddsa && !k.ed25519)
    return invalid_token("alg 'EdDSA' is not allowed: no Ed25519 key is configured");

  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature || signature->empty())
    return invalid_token("malformed token signature");
  auto signed_part = token.substr(0, dot2);
  if (hs256 ? !hs256_matches(k.secret, signed_part, *signature)
            : !ed25519_matches(k.ed25519.get(), signed_part, *signature))
    return invalid_token("bad signature");

  auto claims = decode_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims)
    return invalid_token("malformed token payload");
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  return to_principal(*claims, k.rules, now_ms.count());
}

caf::expected<jwt_verifier> load_jwt_verifier(const jwt_key_files& files, jwt_options opts) {
  auto in_file = [](const std::string& path, const std::string& problem) {
    return make_error(errc::key_invalid, path + ": " + problem);
  };
  if (!files.hs256_secret_file.empty()) {
    auto secret = read_key_file(files.hs256_secret_file, "HS256 secret");
    if (!secret)
      return secret.error();
    if (auto problem = secret_problem(*secret))
      return in_file(files.hs256_secret_file, *problem);
    opts.hs256_secret = std::move(*secret);
  }
  if (!files.ed25519_public_key_file.empty()) {
    auto pem = read_key_file(files.ed25519_public_key_file, "Ed25519 public key");
    if (!pem)
      return pem.error();
    auto key = parse_public_key(*pem);
    if (auto* problem = std::get_if<std::string>(&key))
      return in_file(files.ed25519_public_key_file, *problem);
    opts.ed25519_public_key_pem = std::move(*pem);
  }
  return jwt_verifier::make(std::move(opts));
}

} // namespace troupe::gateway::identity
