#include <catch2/catch.hpp>

#include "actors/gateway/identity/bearer_token.hpp"
#include "actors/gateway/identity/dev_authenticator.hpp"
#include "actors/gateway/identity/errc.hpp"
#include "actors/gateway/identity/identity_headers.hpp"
#include "tests/identity/sync_auth.hpp"

using namespace troupe::gateway;
using namespace troupe::gateway::identity;
using namespace troupe::identity_test;

namespace {

std::string token_of(std::string_view header) {
  auto r = bearer_token(header);
  auto* t = std::get_if<std::string_view>(&r);
  return t ? std::string{*t} : "<" + std::get<api_error>(r).code + ">";
}

troupe::v1::Principal principal(std::string tenant, std::string user) {
  troupe::v1::Principal p;
  p.set_tenant(std::move(tenant));
  p.set_user(std::move(user));
  return p;
}

} // namespace

TEST_CASE("a bearer token is taken from the Authorization header, scheme in any case") {
  CHECK(token_of("Bearer abc.def-_~+/=") == "abc.def-_~+/=");
  CHECK(token_of("bearer abc") == "abc");
  CHECK(token_of("BEARER \t abc  ") == "abc");
  CHECK(token_of("  Bearer abc") == "abc");
}

TEST_CASE("a missing or malformed Authorization header is unauthenticated") {
  for (auto header : {"", "   ", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearerabc",
                      "Bearer a b", "Bearer a\"b", "Bearer a\nb", "Token abc"}) {
    INFO(header);
    CHECK(token_of(header) == "<unauthenticated>");
  }
  auto r = bearer_token("");
  CHECK(std::get<api_error>(r).status == 401);
}

TEST_CASE("identity headers that agree or are absent pass, others are refused with 403") {
  auto p = principal("acme", "alice");
  CHECK(code_of(check_identity_headers({}, p)) == "ok");
  CHECK(code_of(check_identity_headers({"", "acme", "alice"}, p)) == "ok");
  auto other_tenant = check_identity_headers({"", "evil", ""}, p);
  CHECK(code_of(other_tenant) == "tenant_mismatch");
  CHECK(status_of(other_tenant) == 403);
  CHECK(code_of(check_identity_headers({"", "acme", "bob"}, p)) == "user_mismatch");
  CHECK(code_of(check_identity_headers({"", "ACME", ""}, p)) == "tenant_mismatch");
  // A refusal stays the refusal: headers are not even looked at.
  CHECK(code_of(check_identity_headers({"", "evil", ""}, api_error{401, "invalid_token", "x"}))
        == "invalid_token");
}

TEST_CASE("dev mode acts as its fixed identity but still refuses foreign identity headers") {
  dev_options o;
  o.tenant = "devco";
  o.user = "dana";
  o.roles = {"admin"};
  auto dev = make_dev_authenticator(o);
  REQUIRE(dev);
  auto r = authenticate(**dev, {"Bearer whatever", "", ""});
  auto* p = std::get_if<troupe::v1::Principal>(&r);
  REQUIRE(p != nullptr);
  CHECK(p->tenant() == "devco");
  CHECK(p->user() == "dana");
  CHECK(p->roles_size() == 1);
  CHECK(p->expires_unix_ms() > p->issued_unix_ms());
  CHECK(code_of(authenticate(**dev, {"", "devco", "dana"})) == "ok");
  CHECK(code_of(authenticate(**dev, {"", "other", ""})) == "tenant_mismatch");
  CHECK(code_of(authenticate(**dev, {"", "", "eve"})) == "user_mismatch");
}

TEST_CASE("dev mode refuses a tenant that could not be a subject token") {
  dev_options o;
  o.tenant = "a.b";
  CHECK(is(make_dev_authenticator(o).error(), errc::options_invalid));
  o.tenant = "ok";
  o.user = "";
  CHECK(is(make_dev_authenticator(o).error(), errc::options_invalid));
}
