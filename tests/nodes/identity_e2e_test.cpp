// Identity through a real node in `required` mode: an API key made with
// `troupe apikey create`, HS256 JWTs minted with OpenSSL directly, refusals
// with their codes, identity headers that disagree, a revoked key, each
// principal seeing only its own sessions, and a node pinned to one tenant.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/identity/jwt_mint.hpp"
#include "tests/nodes/secured_node.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace mint = troupe::identity_test;

namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string hs256(const json& claims, const std::string& key = hs256_secret) {
  return mint::mint_hmac({{"alg", "HS256"}, {"typ", "JWT"}}, claims, key);
}

json claims(const std::string& tenant, const std::string& user, const json& changes = json::object()) {
  json c{{"tenant", tenant}, {"sub", user}, {"iss", "https://idp.test"},
         {"aud", "troupe"},  {"exp", now_s() + 600}};
  c.update(changes);
  return c;
}

std::string code_of(const http_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j["error"].is_object() ? j["error"].value("code", "") : "";
}

} // namespace

TEST_CASE("a node in required mode admits API keys and JWTs and refuses everything else",
          "[chat][identity][integration]") {
  secured_node n;
  auto [key_id, key] = n.create_key("acme", "alice");
  auto alice = "Authorization: Bearer " + key;
  auto bob = "Authorization: Bearer " + hs256(claims("acme", "bob"));
  auto hello = json{{"message", "hello"}}.dump();

  // No credentials, bad credentials: 401 with a stable code.
  auto none = n.send("POST", "/v1/chat", {}, hello);
  CHECK(none.status == 401);
  CHECK(code_of(none) == "unauthenticated");
  std::vector<std::pair<std::string, std::string>> bad{
    {"a key that was never issued", "trp_AAAAAAAAAAAA_" + std::string(43, 'A')},
    {"wrong HS256 secret", hs256(claims("acme", "bob"), std::string(40, 'x'))},
    {"expired", hs256(claims("acme", "bob", json{{"exp", now_s() - 3600}}))},
    {"not yet valid", hs256(claims("acme", "bob", json{{"nbf", now_s() + 3600}}))},
    {"wrong audience", hs256(claims("acme", "bob", json{{"aud", "someone-else"}}))},
    {"wrong issuer", hs256(claims("acme", "bob", json{{"iss", "https://evil.test"}}))},
    {"alg none", mint::assemble({{"alg", "none"}, {"typ", "JWT"}}, claims("acme", "bob"), "")},
  };
  for (const auto& [why, token] : bad) {
    INFO(why);
    auto r = n.send("POST", "/v1/chat", {"Authorization: Bearer " + token}, hello);
    CHECK(r.status == 401);
    CHECK(code_of(r) == "invalid_token");
  }
  // A payload changed after signing no longer verifies.
  auto signed_token = hs256(claims("acme", "bob"));
  auto dot = signed_token.find('.');
  auto tampered = signed_token.substr(0, dot + 1)
                  + mint::b64url(claims("other", "bob").dump())
                  + signed_token.substr(signed_token.find('.', dot + 1));
  CHECK(n.send("POST", "/v1/chat", {"Authorization: Bearer " + tampered}, hello).status == 401);

  // The API key and the JWT both chat, each as itself.
  auto a = n.send("POST", "/v1/chat", {alice}, hello);
  REQUIRE(a.status == 200);
  std::string alice_session = json::parse(a.body)["session_id"];
  auto b = n.send("POST", "/v1/chat", {bob}, hello);
  REQUIRE(b.status == 200);
  auto bobs = json::parse(n.send("GET", "/v1/sessions", {bob}).body)["sessions"];
  REQUIRE(bobs.size() == 1);
  CHECK(bobs[0]["id"] != alice_session);
  CHECK(n.send("GET", "/v1/sessions/" + alice_session, {bob}).status == 404);
  auto on_alices = n.send("POST", "/v1/chat", {bob},
                          json{{"message", "x"}, {"session_id", alice_session}}.dump());
  CHECK(on_alices.status == 404);

  // Identity headers cannot move a caller to another tenant.
  auto spoof = n.send("POST", "/v1/chat", {alice, "X-Tenant-ID: globex"}, hello);
  CHECK(spoof.status == 403);
  CHECK(code_of(spoof) == "tenant_mismatch");

  // A revoked key stops working (the cache keeps none here).
  REQUIRE(n.cli({"apikey", "revoke", key_id}).code == 0);
  auto revoked = n.send("POST", "/v1/chat", {alice}, hello);
  CHECK(revoked.status == 401);
  CHECK(code_of(revoked) == "invalid_token");
}

TEST_CASE("a node pinned to one tenant refuses other tenants' JWTs and API keys with 403",
          "[chat][identity][integration]") {
  secured_node n{"jwt_tenant_claim = \"tid\"\ntenant = \"acme\"\n"};
  auto foreign_key = n.create_key("globex", "gina").key;
  auto no_tenant = claims("acme", "bob");
  no_tenant.erase("tenant");
  auto foreign_jwt = no_tenant;
  foreign_jwt["tid"] = "globex";

  for (const auto& token : {foreign_key, hs256(foreign_jwt)}) {
    auto r = n.send("GET", "/v1/sessions", {"Authorization: Bearer " + token});
    CHECK(r.status == 403);
    CHECK(code_of(r) == "tenant_mismatch");
  }
  // Single-tenant identity providers send no tenant claim: the pin is the tenant.
  CHECK(n.send("GET", "/v1/sessions", {"Authorization: Bearer " + hs256(no_tenant)}).status
        == 200);
}
