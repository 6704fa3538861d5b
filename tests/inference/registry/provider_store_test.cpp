#include <catch2/catch.hpp>

#include "actors/inference/keyring.hpp"
#include "storage/errc.hpp"
#include "storage/provider_store.hpp"
#include "tests/inference/registry/registry_test_support.hpp"

using namespace troupe::storage;
using namespace troupe::inference::testing;
using namespace std::chrono_literals;
using troupe::inference::keyring;

namespace {

struct fixture {
  std::string url = migrated_database();
  connection conn = std::move(*connection::open(url, 2s));
  temp_dir dir;
  keyring keys = std::move(*keyring::open_or_create(dir / "master.key"));

  provider_record provider(std::string name, std::string base_url,
                           std::vector<std::string> models, const std::string& key = {}) {
    return troupe::inference::testing::provider(keys, std::move(name), std::move(base_url), std::move(models), key);
  }

  provider_record stored(const provider_record& p) {
    auto r = upsert_provider(conn, p);
    REQUIRE(r);
    return *r;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a provider is stored with its key sealed, never in plaintext",
                 "[registry][integration]") {
  auto p = provider("openai", "https://api.openai.com/v1", {"gpt-4o", "gpt-4o-mini"},
                    "sk-plaintext-secret");
  auto row = stored(p);
  CHECK(row.name == "openai");
  CHECK(row.kind == "openai");
  CHECK(row.has_key());
  CHECK(row.created_unix_ms > 0);
  CHECK(row.updated_unix_ms >= row.created_unix_ms);

  auto raw = raw_sealed_key(url, "openai");
  CHECK(raw == p.api_key_sealed);
  CHECK(raw.find("sk-plaintext-secret") == std::string::npos);
  auto opened = keys.open(raw, "openai");
  REQUIRE(opened);
  CHECK(*opened == "sk-plaintext-secret");

  auto all = list_providers(conn);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].base_url == "https://api.openai.com/v1");
  CHECK((*all)[0].models == std::vector<std::string>{"gpt-4o", "gpt-4o-mini"});
  CHECK((*all)[0].api_key_sealed == p.api_key_sealed);
}

TEST_CASE_METHOD(fixture, "providers come back by name with odd model ids intact",
                 "[registry][integration]") {
  stored(provider("zeta", "http://127.0.0.1:8080", {}));
  stored(provider("alpha", "https://api.together.xyz/v1",
                  {"meta-llama/Llama-3-8b", "x\"y", "{braces}", "back\\slash"}));
  auto all = list_providers(conn);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "alpha");
  CHECK((*all)[0].models
        == std::vector<std::string>{"meta-llama/Llama-3-8b", "x\"y", "{braces}", "back\\slash"});
  CHECK_FALSE((*all)[0].has_key());
  CHECK((*all)[1].name == "zeta");
  CHECK((*all)[1].models.empty());
}

TEST_CASE_METHOD(fixture, "adding a provider again keeps its key only while the URL is the same",
                 "[registry][integration]") {
  stored(provider("openai", "https://api.openai.com/v1", {"gpt-4o"}, "sk-1"));
  auto same_url = stored(provider("openai", "https://api.openai.com/v1", {"gpt-4o", "o1"}));
  CHECK(same_url.has_key());
  CHECK(same_url.models == std::vector<std::string>{"gpt-4o", "o1"});
  CHECK(*keys.open(same_url.api_key_sealed, "openai") == "sk-1");

  auto new_key = stored(provider("openai", "https://api.openai.com/v1", {"gpt-4o"}, "sk-2"));
  CHECK(*keys.open(new_key.api_key_sealed, "openai") == "sk-2");

  auto moved = stored(provider("openai", "https://proxy.example.com/v1", {"gpt-4o"}));
  CHECK_FALSE(moved.has_key());
  CHECK(raw_sealed_key(url, "openai") == "<null>");
  CHECK(moved.created_unix_ms == new_key.created_unix_ms);
}

TEST_CASE_METHOD(fixture, "invalid provider input is refused before it reaches the table",
                 "[registry][integration]") {
  for (auto bad : {provider("Open AI", "https://x", {}), provider("", "https://x", {}),
                   provider(std::string(65, 'a'), "https://x", {}),
                   provider("ok", "", {}), provider("ok", "https://x", {"has space"}),
                   provider("ok", "https://x", {""}), provider("ok", "https://x", {"a,b"})}) {
    auto r = upsert_provider(conn, bad);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::query_failed));
  }
  CHECK(list_providers(conn)->empty());
  CHECK_FALSE(conn.broken());
}

TEST_CASE_METHOD(fixture, "removing a provider names the roles left pointing at nothing",
                 "[registry][integration]") {
  stored(provider("openai", "https://api.openai.com/v1", {"gpt-4o", "shared"}, "sk"));
  stored(provider("mistral", "https://api.mistral.ai/v1", {"shared"}, "mk"));
  stored(provider("open_ai", "https://example.com/v1", {}));
  REQUIRE_FALSE(set_role(conn, "title", "openai/gpt-4o-mini"));
  REQUIRE_FALSE(set_role(conn, "memory", "gpt-4o"));
  REQUIRE_FALSE(set_role(conn, "classifier", "shared"));   // mistral still serves it
  REQUIRE_FALSE(set_role(conn, "guardrail", "open_ai/x")); // '_' is no wildcard
  REQUIRE_FALSE(set_role(conn, "default", "mistral/shared"));

  auto removal = remove_provider(conn, "openai");
  REQUIRE(removal);
  CHECK(removal->removed);
  CHECK(removal->dangling_roles == std::vector<std::string>{"memory", "title"});
  CHECK(list_providers(conn)->size() == 2);

  auto again = remove_provider(conn, "openai");
  REQUIRE(again);
  CHECK_FALSE(again->removed);
  CHECK(again->dangling_roles.empty());
}

TEST_CASE_METHOD(fixture, "roles are set, replaced, listed and removed",
                 "[registry][integration]") {
  REQUIRE_FALSE(set_role(conn, "title", "gpt-4o-mini"));
  REQUIRE_FALSE(set_role(conn, "default", "openai/gpt-4o"));
  REQUIRE_FALSE(set_role(conn, "title", "openai/gpt-4o-mini"));
  auto roles = list_roles(conn);
  REQUIRE(roles);
  REQUIRE(roles->size() == 2);
  CHECK((*roles)[0].role == "default");
  CHECK((*roles)[1].role == "title");
  CHECK((*roles)[1].model == "openai/gpt-4o-mini");
  CHECK((*roles)[1].updated_unix_ms > 0);

  auto removed = remove_role(conn, "title");
  REQUIRE(removed);
  CHECK(*removed);
  auto missing = remove_role(conn, "title");
  REQUIRE(missing);
  CHECK_FALSE(*missing);
  CHECK(list_roles(conn)->size() == 1);

  CHECK(is(set_role(conn, "Bad Role", "x"), errc::query_failed));
  CHECK(is(set_role(conn, "ok", ""), errc::query_failed));
  CHECK(is(set_role(conn, "ok", "two words"), errc::query_failed));
}

TEST_CASE_METHOD(fixture, "the registry snapshot holds providers and roles together",
                 "[registry][integration]") {
  stored(provider("openai", "https://api.openai.com/v1", {"gpt-4o"}, "sk"));
  REQUIRE_FALSE(set_role(conn, "default", "gpt-4o"));
  auto reg = load_registry(conn);
  REQUIRE(reg);
  REQUIRE(reg->providers.size() == 1);
  CHECK(reg->providers[0].has_key());
  REQUIRE(reg->roles.size() == 1);
  CHECK(reg->roles[0].model == "gpt-4o");
}

TEST_CASE("the store reports a database without the registry tables", "[registry][integration]") {
  auto url = troupe::test::shared_pg_server().create_database("registry_unmigrated");
  auto conn = connection::open(url, 2s);
  REQUIRE(conn);
  auto all = list_providers(*conn);
  REQUIRE_FALSE(all);
  CHECK(is(all.error(), errc::query_failed));
  CHECK_THAT(error_text(all.error()), Catch::Contains("troupe_providers"));
  CHECK(is(load_registry(*conn).error(), errc::query_failed));
}
