#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "actors/gateway/identity/errc.hpp"
#include "actors/gateway/identity/jwt_verifier.hpp"
#include "tests/identity/jwt_mint.hpp"

using namespace troupe::gateway;
using namespace troupe::gateway::identity;
using namespace troupe::identity_test;
using namespace std::chrono_literals;

namespace {

constexpr int64_t now_s = 1'700'000'000;
const auto now = std::chrono::system_clock::time_point{std::chrono::seconds{now_s}};
const std::string secret(40, 'k');
const json hs256{{"alg", "HS256"}, {"typ", "JWT"}};
const json eddsa{{"alg", "EdDSA"}, {"typ", "JWT"}};

json claims() {
  return {{"sub", "alice"},
          {"tenant", "acme"},
          {"iat", now_s - 10},
          {"exp", now_s + 600},
          {"iss", "https://idp.example"},
          {"aud", "troupe"},
          {"roles", {"reader", "writer"}}};
}

json with(json c, const std::string& key, json value) {
  c[key] = std::move(value);
  return c;
}

json without(json c, const std::string& key) {
  c.erase(key);
  return c;
}

const ed25519_key& ed_key() {
  static const auto k = make_key();
  return k;
}

jwt_verifier make_verifier(bool with_hs256, bool with_eddsa) {
  jwt_options o;
  if (with_hs256)
    o.hs256_secret = secret;
  if (with_eddsa)
    o.ed25519_public_key_pem = ed_key().public_pem;
  o.issuer = "https://idp.example";
  o.audience = "troupe";
  auto v = jwt_verifier::make(o);
  REQUIRE(v);
  return std::move(*v);
}

/// The refusal's message, after checking it is a 401 invalid_token.
std::string refusal(const result<troupe::v1::Principal>& r) {
  auto* err = std::get_if<api_error>(&r);
  REQUIRE(err != nullptr);
  CHECK(err->status == 401);
  CHECK(err->code == "invalid_token");
  return err->message;
}

struct bad_token {
  const char* what;
  std::string token;
  const char* reason; // a fragment of the message
};

} // namespace

TEST_CASE("good HS256 and EdDSA tokens give the principal their claims name") {
  auto v = make_verifier(true, true);
  for (const auto& token :
       {mint_hmac(hs256, claims(), secret), mint_eddsa(eddsa, claims(), ed_key())}) {
    auto r = v.verify(token, now);
    auto* p = std::get_if<troupe::v1::Principal>(&r);
    REQUIRE(p != nullptr);
    CHECK(p->tenant() == "acme");
    CHECK(p->user() == "alice");
    REQUIRE(p->roles_size() == 2);
    CHECK(p->roles(1) == "writer");
    CHECK(p->issued_unix_ms() == (now_s - 10) * 1000);
    CHECK(p->expires_unix_ms() == (now_s + 600) * 1000);
  }
}

TEST_CASE("a token is accepted within the leeway around exp and nbf, and aud may be an array") {
  auto v = make_verifier(true, false);
  auto ok = [&](const json& c) {
    return std::holds_alternative<troupe::v1::Principal>(
        v.verify(mint_hmac(hs256, c, secret), now));
  };
  CHECK(ok(with(claims(), "exp", now_s - 29)));
  CHECK(ok(with(claims(), "nbf", now_s + 29)));
  CHECK(ok(with(claims(), "exp", now_s + 600.5)));
  CHECK(ok(with(claims(), "aud", {"other", "troupe"})));
  CHECK(ok(without(without(claims(), "roles"), "iat")));
}

TEST_CASE("bad JWTs of every kind are refused as invalid_token, saying why") {
  auto v = make_verifier(true, true);
  auto other_key = make_key();
  auto good = mint_hmac(hs256, claims(), secret);
  auto dot1 = good.find('.');
  auto dot2 = good.rfind('.');
  auto forged_payload = b64url(with(claims(), "tenant", "evil").dump());
  auto tampered_payload = good.substr(0, dot1 + 1) + forged_payload + good.substr(dot2);
  auto tampered_signature = good;
  tampered_signature[dot2 + 1] = tampered_signature[dot2 + 1] == 'A' ? 'B' : 'A';

  std::vector<bad_token> table{
      {"wrong HS256 key", mint_hmac(hs256, claims(), std::string(40, 'x')), "bad signature"},
      {"wrong Ed25519 key", mint_eddsa(eddsa, claims(), other_key), "bad signature"},
      {"expired", mint_hmac(hs256, with(claims(), "exp", now_s - 31), secret), "expired"},
      {"not yet valid", mint_hmac(hs256, with(claims(), "nbf", now_s + 31), secret),
       "not yet valid"},
      {"alg none", assemble({{"alg", "none"}}, claims(), ""), "'none' is not allowed"},
      {"alg none, no signature", b64url(R"({"alg":"none"})") + "." + b64url(claims().dump()) + ".",
       "'none' is not allowed"},
      {"alg HS384", mint_hmac({{"alg", "HS384"}}, claims(), secret, "SHA384"),
       "'HS384' is not allowed"},
      {"alg RS256", assemble({{"alg", "RS256"}}, claims(), std::string(256, 'x')),
       "'RS256' is not allowed"},
      {"alg lowercase", mint_hmac({{"alg", "hs256"}}, claims(), secret), "not allowed"},
      {"alg missing", mint_hmac({{"typ", "JWT"}}, claims(), secret), "no alg"},
      {"alg not a string", mint_hmac({{"alg", 256}}, claims(), secret), "not allowed"},
      {"crit header", mint_hmac({{"alg", "HS256"}, {"crit", {"exp"}}}, claims(), secret),
       "critical"},
      {"wrong audience", mint_hmac(hs256, with(claims(), "aud", "other"), secret),
       "wrong audience"},
      {"audience array without ours", mint_hmac(hs256, with(claims(), "aud", {"a", "b"}), secret),
       "wrong audience"},
      {"no audience", mint_hmac(hs256, without(claims(), "aud"), secret), "wrong audience"},
      {"wrong issuer", mint_hmac(hs256, with(claims(), "iss", "https://evil.example"), secret),
       "wrong issuer"},
      {"no issuer", mint_hmac(hs256, without(claims(), "iss"), secret), "wrong issuer"},
      {"tampered payload", tampered_payload, "bad signature"},
      {"tampered signature", tampered_signature, "bad signature"},
      {"truncated signature", good.substr(0, good.size() - 4), "signature"},
      {"missing tenant", mint_hmac(hs256, without(claims(), "tenant"), secret), "no tenant"},
      {"empty tenant", mint_hmac(hs256, with(claims(), "tenant", ""), secret),
       "must be a non-empty string"},
      {"tenant with a dot", mint_hmac(hs256, with(claims(), "tenant", "a.b"), secret), "tenant"},
      {"tenant not a string", mint_hmac(hs256, with(claims(), "tenant", 7), secret),
       "must be a non-empty string"},
      {"missing sub", mint_hmac(hs256, without(claims(), "sub"), secret), "no sub"},
      {"missing exp", mint_hmac(hs256, without(claims(), "exp"), secret), "no exp"},
      {"exp a string", mint_hmac(hs256, with(claims(), "exp", "soon"), secret), "exp"},
      {"exp absurd", mint_hmac(hs256, with(claims(), "exp", 1e300), secret), "exp"},
      {"exp negative", mint_hmac(hs256, with(claims(), "exp", -5), secret), "exp"},
      {"nbf a string", mint_hmac(hs256, with(claims(), "nbf", "now"), secret), "nbf"},
      {"iat bad", mint_hmac(hs256, with(claims(), "iat", json::array()), secret), "iat"},
      {"roles not an array", mint_hmac(hs256, with(claims(), "roles", "admin"), secret), "roles"},
      {"roles not strings", mint_hmac(hs256, with(claims(), "roles", {"a", 1}), secret), "roles"},
      {"payload an array", assemble(hs256, json::array({1}), "x"), "bad signature"},
      {"garbage", "garbage", "three"},
      {"empty", "", "three"},
      {"two segments", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", "three"},
      {"four segments", good + ".x", "three"},
      {"only dots", "..", "header"},
      {"bad base64 header", "!!!." + good.substr(dot1 + 1), "header"},
      {"padded base64 header", b64url(hs256.dump()) + "=" + good.substr(dot1), "header"},
      {"header not JSON", b64url("{alg") + good.substr(dot1), "header"},
      {"header a JSON array", b64url("[\"HS256\"]") + good.substr(dot1), "header"},
      {"header a JSON string", b64url("\"HS256\"") + good.substr(dot1), "header"},
      {"huge token", good + std::string(9000, 'A'), "larger"},
  };
  for (const auto& bad : table) {
    INFO(bad.what);
    auto message = refusal(v.verify(bad.token, now));
    CHECK_THAT(message, Catch::Contains(bad.reason));
  }
}

TEST_CASE("the tenant is read from the configured claim, such as Azure AD's tid") {
  jwt_options o;
  o.hs256_secret = secret;
  o.tenant_claim = "tid";
  auto v = jwt_verifier::make(o);
  REQUIRE(v);
  auto tid = [](json tenant) { return with(without(claims(), "tenant"), "tid", std::move(tenant)); };

  auto r = v->verify(mint_hmac(hs256, tid("72f988bf-86f1-41af-91ab-2d7cd011db47"), secret), now);
  auto* p = std::get_if<troupe::v1::Principal>(&r);
  REQUIRE(p != nullptr);
  CHECK(p->tenant() == "72f988bf-86f1-41af-91ab-2d7cd011db47");
  CHECK(p->user() == "alice");
  // The default claim no longer counts, and without tid a multi-tenant
  // gateway cannot tell whose token it is.
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, claims(), secret), now)),
             Catch::Contains("no tenant claim 'tid'"));
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, tid(42), secret), now)),
             Catch::Contains("'tid' must be a non-empty string"));
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, tid(""), secret), now)),
             Catch::Contains("'tid' must be a non-empty string"));
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, tid("a.b"), secret), now)),
             Catch::Contains("only letters"));
}

TEST_CASE("a verifier pinned to one tenant refuses other tenants with 403 and gives tokens "
          "without the claim the pinned tenant") {
  jwt_options o;
  o.hs256_secret = secret;
  o.tenant_claim = "tid";
  o.tenant = "acme";
  auto v = jwt_verifier::make(o);
  REQUIRE(v);
  CHECK(v->tenant() == "acme");
  auto tenant_of = [&](const json& c) {
    auto r = v->verify(mint_hmac(hs256, c, secret), now);
    auto* p = std::get_if<troupe::v1::Principal>(&r);
    REQUIRE(p != nullptr);
    return p->tenant();
  };
  auto base = without(claims(), "tenant");
  CHECK(tenant_of(with(base, "tid", "acme")) == "acme");
  CHECK(tenant_of(base) == "acme");
  // The default claim is just another claim here: it does not name the tenant.
  CHECK(tenant_of(with(base, "tenant", "globex")) == "acme");

  auto other = v->verify(mint_hmac(hs256, with(base, "tid", "globex"), secret), now);
  auto* err = std::get_if<api_error>(&other);
  REQUIRE(err != nullptr);
  CHECK(err->status == 403);
  CHECK(err->code == "tenant_mismatch");
  CHECK_THAT(err->message, !Catch::Contains("globex"));
  // A claim that is there but malformed is a bad token, not a missing claim.
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, with(base, "tid", ""), secret), now)),
             Catch::Contains("non-empty string"));
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, with(base, "tid", "ac.me"), secret), now)),
             Catch::Contains("only letters"));
  // Pinning changes whose token it is, not whether the token is good.
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, with(base, "exp", now_s - 60), secret), now)),
             Catch::Contains("expired"));
  CHECK_THAT(refusal(v->verify(mint_hmac(hs256, base, std::string(40, 'x')), now)),
             Catch::Contains("bad signature"));
}

TEST_CASE("making a verifier refuses an empty or garbled tenant claim name and a bad pin") {
  auto with_tenant = [](std::string claim, std::string tenant) {
    jwt_options o;
    o.hs256_secret = secret;
    o.tenant_claim = std::move(claim);
    o.tenant = std::move(tenant);
    return jwt_verifier::make(o);
  };
  CHECK(is(with_tenant("", "").error(), errc::options_invalid));
  CHECK(is(with_tenant("t\nid", "").error(), errc::options_invalid));
  CHECK(is(with_tenant(std::string(513, 't'), "").error(), errc::options_invalid));
  CHECK(is(with_tenant("tid", "ac.me").error(), errc::options_invalid));
  CHECK(with_tenant("https://example.com/claims/tenant", "acme"));
  CHECK(with_tenant("tenant", "").value().tenant().empty());
}

TEST_CASE("the alg must match a configured key kind, whatever key signed the token") {
  auto hs_only = make_verifier(true, false);
  auto ed_only = make_verifier(false, true);
  CHECK_THAT(refusal(hs_only.verify(mint_eddsa(eddsa, claims(), ed_key()), now)),
             Catch::Contains("no Ed25519 key"));
  CHECK_THAT(refusal(ed_only.verify(mint_hmac(hs256, claims(), secret), now)),
             Catch::Contains("no HS256 key"));
  // The classic confusion: an HS256 token keyed with the public key's PEM text.
  CHECK_THAT(refusal(ed_only.verify(mint_hmac(hs256, claims(), ed_key().public_pem), now)),
             Catch::Contains("no HS256 key"));
}

TEST_CASE("a signed payload that is valid JSON but not an object is refused") {
  auto v = make_verifier(true, false);
  CHECK_THAT(refusal(v.verify(mint_hmac(hs256, 123, secret), now)), Catch::Contains("payload"));
  CHECK_THAT(refusal(v.verify(mint_hmac(hs256, "x", secret), now)), Catch::Contains("payload"));
}

TEST_CASE("random damage to a good token never crashes and never passes") {
  auto v = make_verifier(true, true);
  auto good = mint_eddsa(eddsa, claims(), ed_key());
  std::mt19937 rng{12345};
  std::uniform_int_distribution<int> byte{0, 255};
  for (int i = 0; i < 3000; ++i) {
    auto token = good;
    auto flips = 1 + i % 4;
    for (int f = 0; f < flips; ++f)
      token[rng() % token.size()] = static_cast<char>(byte(rng));
    if (token == good)
      continue;
    auto r = v.verify(token, now);
    REQUIRE(std::holds_alternative<api_error>(r));
  }
  // Deeply nested JSON, still under the size limit.
  auto deep = b64url(std::string(2500, '[') + std::string(2500, ']'));
  CHECK_THAT(refusal(v.verify(deep + ".e30.AAAA", now)), Catch::Contains("header"));
}

TEST_CASE("making a verifier refuses missing, short or wrong keys and a bad leeway") {
  CHECK(is(jwt_verifier::make({}).error(), errc::options_invalid));
  jwt_options short_secret;
  short_secret.hs256_secret = std::string(31, 's');
  CHECK(is(jwt_verifier::make(short_secret).error(), errc::key_invalid));
  jwt_options not_pem;
  not_pem.ed25519_public_key_pem = "hello";
  CHECK(is(jwt_verifier::make(not_pem).error(), errc::key_invalid));
  jwt_options x25519;
  x25519.ed25519_public_key_pem = make_key("X25519").public_pem;
  auto wrong_kind = jwt_verifier::make(x25519);
  REQUIRE_FALSE(wrong_kind);
  CHECK(is(wrong_kind.error(), errc::key_invalid));
  jwt_options negative;
  negative.hs256_secret = secret;
  negative.leeway = -1s;
  CHECK(is(jwt_verifier::make(negative).error(), errc::options_invalid));
}

TEST_CASE("the key loader reads the files and names the one that is wrong") {
  auto dir = std::filesystem::temp_directory_path() / ("troupe-jwt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream{dir / name, std::ios::binary} << text;
    return (dir / name).string();
  };
  auto secret_file = write("secret", secret);
  auto pem_file = write("ed.pem", ed_key().public_pem);
  auto short_file = write("short", "tooshort\n");
  auto junk_file =
      write("junk.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");

  auto loaded = load_jwt_verifier({secret_file, pem_file}, {});
  REQUIRE(loaded);
  CHECK(std::holds_alternative<troupe::v1::Principal>(
      loaded->verify(mint_eddsa(eddsa, claims(), ed_key()), now)));
  CHECK(std::holds_alternative<troupe::v1::Principal>(
      loaded->verify(mint_hmac(hs256, claims(), secret), now)));

  auto missing = load_jwt_verifier({(dir / "nope").string(), ""}, {});
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::key_unreadable));
  CHECK_THAT(caf::to_string(missing.error()), Catch::Contains("nope"));

  auto too_short = load_jwt_verifier({short_file, ""}, {});
  REQUIRE_FALSE(too_short);
  CHECK(is(too_short.error(), errc::key_invalid));
  CHECK_THAT(caf::to_string(too_short.error()), Catch::Contains(short_file));

  auto junk = load_jwt_verifier({"", junk_file}, {});
  REQUIRE_FALSE(junk);
  CHECK(is(junk.error(), errc::key_invalid));
  CHECK_THAT(caf::to_string(junk.error()), Catch::Contains(junk_file));

  auto a_dir = load_jwt_verifier({dir.string(), ""}, {});
  REQUIRE_FALSE(a_dir);
  CHECK(is(a_dir.error(), errc::key_unreadable));
  std::filesystem::remove_all(dir);
}
