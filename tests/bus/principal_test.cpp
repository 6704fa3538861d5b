#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bus/errc.hpp"
#include "bus/principal.hpp"

using namespace troupe::bus;

namespace {

const std::string secret_a(32, 'a');
const std::string secret_b = "0123456789abcdef0123456789abcdef-b";
constexpr int64_t now = 1'700'000'000'000;

troupe::v1::Principal alice(int64_t expires = now + 60'000) {
  troupe::v1::Principal p;
  p.set_tenant("acme");
  p.set_user("alice");
  p.add_roles("admin");
  p.set_issued_unix_ms(now - 1000);
  p.set_expires_unix_ms(expires);
  return p;
}

principal_keys keys_with(std::initializer_list<std::pair<std::string, std::string>> ks) {
  principal_keys keys;
  for (const auto& [id, secret] : ks)
    REQUIRE_FALSE(keys.add(id, secret));
  return keys;
}

void check_invalid(const caf::expected<troupe::v1::Principal>& r) {
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::principal_invalid));
}

} // namespace

TEST_CASE("a signed principal verifies and comes back field for field", "[principal]") {
  auto keys = keys_with({{"k1", secret_a}});
  auto signed_p = keys.sign(alice());
  REQUIRE(signed_p);
  CHECK(signed_p->key_id() == "k1");
  CHECK(signed_p->signature().size() == 32);
  auto p = keys.verify(*signed_p, now);
  REQUIRE(p);
  CHECK(p->tenant() == "acme");
  CHECK(p->user() == "alice");
  REQUIRE(p->roles_size() == 1);
  CHECK(p->roles(0) == "admin");
}

TEST_CASE("a changed byte in the principal or the signature fails verification",
          "[principal]") {
  auto keys = keys_with({{"k1", secret_a}});
  auto good = *keys.sign(alice());
  auto tampered = good;
  (*tampered.mutable_principal())[3] ^= 0x01;
  check_invalid(keys.verify(tampered, now));
  auto forged = good;
  (*forged.mutable_signature())[0] ^= 0x80;
  check_invalid(keys.verify(forged, now));
  auto truncated = good;
  truncated.mutable_signature()->pop_back();
  check_invalid(keys.verify(truncated, now));
  auto resigned_elsewhere = *keys_with({{"k1", secret_b}}).sign(alice());
  check_invalid(keys.verify(resigned_elsewhere, now));
}

TEST_CASE("an unknown key id, an expiry in the past or no expiry at all is refused",
          "[principal]") {
  auto keys = keys_with({{"k1", secret_a}});
  auto other = *keys_with({{"k9", secret_a}}).sign(alice());
  check_invalid(keys.verify(other, now));
  check_invalid(keys.verify(*keys.sign(alice(now - 1)), now));
  check_invalid(keys.verify(*keys.sign(alice(now)), now));
  check_invalid(keys.verify(*keys.sign(alice(0)), now));
  CHECK(keys.verify(*keys.sign(alice(now + 1)), now));
}

TEST_CASE("correctly signed bytes that are not a Principal are refused", "[principal]") {
  auto keys = keys_with({{"k1", secret_a}});
  troupe::v1::SignedPrincipal sp;
  sp.set_key_id("k1");
  sp.set_principal(std::string("\xff\xff\xff\x0f garbage", 13));
  unsigned char tag[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret_a.data(), static_cast<int>(secret_a.size()),
       reinterpret_cast<const unsigned char*>(sp.principal().data()), sp.principal().size(), tag,
       &len);
  REQUIRE(len == 32);
  sp.set_signature(reinterpret_cast<const char*>(tag), len);
  check_invalid(keys.verify(sp, now));
}

TEST_CASE("rotation signs with the newest key while older keys still verify", "[principal]") {
  auto old_keys = keys_with({{"k1", secret_a}});
  auto old_token = *old_keys.sign(alice());
  auto keys = keys_with({{"k1", secret_a}, {"k2", secret_b}});
  auto fresh = keys.sign(alice());
  REQUIRE(fresh);
  CHECK(fresh->key_id() == "k2");
  CHECK(keys.verify(*fresh, now));
  CHECK(keys.verify(old_token, now));
  auto pinned = keys.sign(alice(), "k1");
  REQUIRE(pinned);
  CHECK(pinned->key_id() == "k1");
  CHECK_FALSE(keys.sign(alice(), "k3"));
}

TEST_CASE("short secrets, duplicate ids, bad ids and signing without keys are errors",
          "[principal]") {
  principal_keys keys;
  CHECK(keys.empty());
  auto no_key = keys.sign(alice());
  REQUIRE_FALSE(no_key);
  CHECK(is(no_key.error(), errc::principal_invalid));
  CHECK(is(keys.add("k1", std::string(31, 'x')), errc::principal_invalid));
  CHECK(is(keys.add("bad id", secret_a), errc::principal_invalid));
  CHECK(is(keys.add("", secret_a), errc::principal_invalid));
  CHECK_FALSE(keys.add("k1", secret_a));
  CHECK(is(keys.add("k1", secret_b), errc::principal_invalid));
  CHECK_FALSE(keys.empty());
}

TEST_CASE("verifying an empty or random SignedPrincipal never crashes", "[principal]") {
  auto keys = keys_with({{"k1", secret_a}});
  check_invalid(keys.verify(troupe::v1::SignedPrincipal{}, now));
  troupe::v1::SignedPrincipal sp;
  sp.set_key_id("k1");
  for (int i = 0; i < 200; ++i) {
    sp.set_principal(std::string(static_cast<size_t>(i), static_cast<char>(i * 7)));
    sp.set_signature(std::string(static_cast<size_t>(i % 40), static_cast<char>(i)));
    check_invalid(keys.verify(sp, now));
  }
}
