#include <catch2/catch.hpp>

#include "actors/inference/errc.hpp"
#include "actors/inference/model_resolver.hpp"
#include "tests/inference/registry/registry_test_support.hpp"

using namespace troupe::inference;
using namespace troupe::inference::testing;
using troupe::storage::provider_record;
using troupe::storage::provider_registry;
using troupe::storage::role_record;

namespace {

struct fixture {
  temp_dir dir;
  keyring keys = std::move(*keyring::open_or_create(dir / "master.key"));

  provider_record provider(std::string name, std::string url, std::vector<std::string> models,
                           const std::string& key = {}) {
    return testing::provider(keys, std::move(name), std::move(url), std::move(models), key);
  }

  /// openai (keyed), mistral (keyed, shares "shared-7b"), local (keyless, any model).
  provider_registry registry() {
    provider_registry reg;
    reg.providers.push_back(provider("local", "http://127.0.0.1:8080/v1", {}));
    reg.providers.push_back(
      provider("mistral", "https://api.mistral.ai/v1", {"mistral-small", "shared-7b"}, "mk"));
    reg.providers.push_back(provider("openai", "https://api.openai.com/v1",
                                     {"gpt-4o", "gpt-4o-mini", "shared-7b"}, "sk-openai"));
    reg.roles.push_back({"default", "gpt-4o", 0});
    reg.roles.push_back({"title", "openai/gpt-4o-mini", 0});
    return reg;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "a role alias resolves to its provider, model and decrypted key") {
  auto r = resolve(registry(), keys, "title");
  REQUIRE(r);
  CHECK(r->provider == "openai");
  CHECK(r->kind == "openai");
  CHECK(r->base_url == "https://api.openai.com/v1");
  CHECK(r->model == "gpt-4o-mini");
  CHECK(r->api_key == "sk-openai");
  CHECK_FALSE(r->builtin());
  auto d = resolve(registry(), keys, "default");
  REQUIRE(d);
  CHECK(d->model == "gpt-4o");
  auto empty = resolve(registry(), keys, "");
  REQUIRE(empty);
  CHECK(empty->model == "gpt-4o");
}

TEST_CASE_METHOD(fixture, "a known role without a row is not configured") {
  for (const char* role : {"guardrail", "memory", "classifier"}) {
    auto r = resolve(registry(), keys, role);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::role_not_configured));
    CHECK_THAT(error_text(r.error()), Catch::Contains("troupe role set"));
  }
  auto reg = registry();
  reg.roles.clear();
  auto d = resolve(reg, keys, "default");
  REQUIRE_FALSE(d);
  CHECK(is(d.error(), errc::role_not_configured));
}

TEST_CASE_METHOD(fixture, "default is the built-in dev model while no provider exists") {
  provider_registry empty;
  for (const char* what : {"default", "", "troupe-dev"}) {
    auto r = resolve(empty, keys, what);
    REQUIRE(r);
    CHECK(r->builtin());
    CHECK(r->provider == "builtin");
    CHECK(r->model == "troupe-dev");
    CHECK(r->base_url.empty());
    CHECK(r->api_key.empty());
  }
  auto title = resolve(empty, keys, "title");
  REQUIRE_FALSE(title);
  CHECK(is(title.error(), errc::role_not_configured));
  // troupe-dev stays the dev model when providers exist.
  auto dev = resolve(registry(), keys, "troupe-dev");
  REQUIRE(dev);
  CHECK(dev->builtin());
}

TEST_CASE_METHOD(fixture, "a custom role from the table resolves like a known one") {
  auto reg = registry();
  reg.roles.push_back({"summarizer", "mistral/mistral-small", 0});
  auto r = resolve(reg, keys, "summarizer");
  REQUIRE(r);
  CHECK(r->provider == "mistral");
  CHECK(r->api_key == "mk");
}

TEST_CASE_METHOD(fixture, "provider/model picks the provider, its models list must hold the model") {
  auto r = resolve(registry(), keys, "mistral/shared-7b");
  REQUIRE(r);
  CHECK(r->provider == "mistral");
  CHECK(r->model == "shared-7b");
  auto missing = resolve(registry(), keys, "openai/gpt-3");
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), errc::model_unknown));
  CHECK_THAT(error_text(missing.error()), Catch::Contains("gpt-4o-mini"));
  CHECK(is(resolve(registry(), keys, "openai/").error(), errc::model_unknown));
}

TEST_CASE_METHOD(fixture, "a provider with an empty models list serves any model asked by name") {
  auto r = resolve(registry(), keys, "local/llama-3.1-8b/q4");
  REQUIRE(r);
  CHECK(r->provider == "local");
  CHECK(r->model == "llama-3.1-8b/q4");
  CHECK(r->api_key.empty());
}

TEST_CASE_METHOD(fixture, "a bare model id needs exactly one provider that lists it") {
  auto r = resolve(registry(), keys, "mistral-small");
  REQUIRE(r);
  CHECK(r->provider == "mistral");
  auto unknown = resolve(registry(), keys, "claude-3");
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::model_unknown));
  auto ambiguous = resolve(registry(), keys, "shared-7b");
  REQUIRE_FALSE(ambiguous);
  CHECK(is(ambiguous.error(), errc::model_unknown));
  CHECK_THAT(error_text(ambiguous.error()),
             Catch::Contains("mistral/shared-7b") && Catch::Contains("openai/shared-7b"));
}

TEST_CASE_METHOD(fixture, "a model id with a slash is bare when the prefix names no provider") {
  auto reg = registry();
  reg.providers.push_back(provider("together", "https://api.together.xyz/v1",
                                   {"meta-llama/Llama-3-8b"}, "tk"));
  auto r = resolve(reg, keys, "meta-llama/Llama-3-8b");
  REQUIRE(r);
  CHECK(r->provider == "together");
  CHECK(r->model == "meta-llama/Llama-3-8b");
}

TEST_CASE_METHOD(fixture, "a role naming a model nobody serves says which role") {
  auto reg = registry();
  reg.roles.push_back({"memory", "gpt-5", 0});
  auto r = resolve(reg, keys, "memory");
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::model_unknown));
  CHECK_THAT(error_text(r.error()), Catch::Contains("role 'memory'"));
  // Aliases do not chain: a role naming a role is a model id nobody serves.
  reg.roles.push_back({"classifier", "title", 0});
  CHECK(is(resolve(reg, keys, "classifier").error(), errc::model_unknown));
}

TEST_CASE_METHOD(fixture, "a remote provider without a key is refused, a local one is not") {
  auto reg = registry();
  reg.providers.push_back(provider("remote", "https://llm.example.com/v1", {"remote-1"}));
  reg.providers.push_back(provider("ollama", "http://localhost:11434/v1", {"qwen"}));
  auto remote = resolve(reg, keys, "remote-1");
  REQUIRE_FALSE(remote);
  CHECK(is(remote.error(), errc::provider_key_missing));
  CHECK_THAT(error_text(remote.error()), Catch::Contains("remote"));
  auto local = resolve(reg, keys, "qwen");
  REQUIRE(local);
  CHECK(local->provider == "ollama");
  CHECK(local->api_key.empty());
}

TEST_CASE_METHOD(fixture, "a key copied from another provider's row does not decrypt") {
  auto reg = registry();
  reg.providers[1].api_key_sealed = reg.providers[2].api_key_sealed; // openai's key on mistral
  auto r = resolve(reg, keys, "mistral-small");
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::key_store_error));
  CHECK_THAT(error_text(r.error()), !Catch::Contains("sk-openai"));
}

TEST_CASE_METHOD(fixture, "the model list names the dev model, every provider model and the aliases") {
  auto list = list_models(registry());
  std::map<std::string, std::string> ids;
  for (const auto& m : list.models())
    ids[m.id()] = m.provider();
  CHECK(ids.at("troupe-dev") == "builtin");
  CHECK(ids.at("gpt-4o") == "openai");
  CHECK(ids.at("mistral-small") == "mistral");
  CHECK(ids.at("openai/shared-7b") == "openai");
  CHECK(ids.at("mistral/shared-7b") == "mistral");
  CHECK(ids.count("shared-7b") == 0);
  CHECK(ids.at("default") == "openai");
  CHECK(ids.at("title") == "openai");
  CHECK(ids.count("guardrail") == 0);
  CHECK(list.models_size() == 8);

  auto bare = list_models(provider_registry{});
  REQUIRE(bare.models_size() == 2);
  CHECK(bare.models(0).id() == "troupe-dev");
  CHECK(bare.models(1).id() == "default");
  CHECK(bare.models(1).provider() == "builtin");
}
