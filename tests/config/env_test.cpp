#include <catch2/catch.hpp>

#include <cstdlib>

#include "config/keys.hpp"
#include "config/load.hpp"
#include "tests/config/helpers.hpp"

using namespace troupe::config;
using namespace troupe::config::test;
using namespace std::chrono_literals;

TEST_CASE("a variable wins over the file", "[config][env]") {
  auto r = load(minimal + "[node]\nid = \"from-file\"\n[admin]\nport = 9000\n",
                {{"TROUPE_NODE_ID", "from-env"}, {"TROUPE_ADMIN_PORT", "9100"}});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.node.id == "from-env");
  CHECK(r.config.admin.port == 9100);
}

TEST_CASE("each key's variable is TROUPE_ then its section and name in upper case",
          "[config][env]") {
  CHECK(env_name(*find_key("node", "heartbeat_interval_ms"))
        == "TROUPE_NODE_HEARTBEAT_INTERVAL_MS");
  CHECK(env_name(*find_key("admin", "port")) == "TROUPE_ADMIN_PORT");
  CHECK(env_name(*find_key("database", "url")) == "TROUPE_DATABASE_URL");
  for (const auto& k : known_keys()) {
    auto name = env_name(k);
    CHECK(name.starts_with("TROUPE_"));
    CHECK(name.find_first_of("abcdefghijklmnopqrstuvwxyz.") == std::string::npos);
  }
}

TEST_CASE("variables of every type reach their members", "[config][env]") {
  temp_dir dir;
  auto key = dir.write("k", std::string(64, 'z'));
  auto r = defaults({
      {"TROUPE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x"},
      {"TROUPE_NODE_ROLES", " gateway , tool "},
      {"TROUPE_NODE_CLUSTER", "blue"},
      {"TROUPE_NODE_SHUTDOWN_TIMEOUT_S", "12"},
      {"TROUPE_NATS_URLS", "nats://a:1,nats://b:2"},
      {"TROUPE_NATS_MAX_RECONNECT", "-1"},
      {"TROUPE_NATS_SEND_ASAP", "no"},
      {"TROUPE_DATABASE_MIGRATE_ON_START", "FALSE"},
      {"TROUPE_BUS_REQUIRE_PRINCIPAL", "1"},
      {"TROUPE_BUS_PRINCIPAL_KEY_FILE", key},
      {"TROUPE_SUPERVISION_BACKOFF_MAX_MS", "  7000 "},
      {"TROUPE_LOG_FORMAT", "json"},
      {"TROUPE_LOG_LEVEL", "warn"},
  });
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.node.roles == std::vector<role>{role::gateway, role::tool});
  CHECK(r.config.node.cluster == "blue");
  CHECK(r.config.node.shutdown_timeout == 12s);
  CHECK(r.config.nats.urls == std::vector<std::string>{"nats://a:1", "nats://b:2"});
  CHECK(r.config.nats.max_reconnect == -1);
  CHECK_FALSE(r.config.nats.send_asap);
  CHECK_FALSE(r.config.database.migrate_on_start);
  CHECK(r.config.bus.require_principal);
  CHECK(r.config.bus.principal_key_file == key);
  CHECK(r.config.supervision.backoff_max == 7000ms);
  CHECK(r.config.log.format == troupe::log::format::json);
  CHECK(r.config.log.level == "warn");
}

TEST_CASE("TROUPE_NATS_URL and TROUPE_DATABASE_URL set the servers", "[config][env]") {
  auto r = load(minimal, {{"TROUPE_NATS_URL", "nats://n1:4222,tls://n2:4443"},
                          {"TROUPE_DATABASE_URL", "postgres://other@db/x"}});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.nats.urls == std::vector<std::string>{"nats://n1:4222", "tls://n2:4443"});
  CHECK(r.config.database.url == "postgres://other@db/x");
}

TEST_CASE("TROUPE_NATS_URL agreeing with TROUPE_NATS_URLS is fine", "[config][env]") {
  auto r = load(minimal,
                {{"TROUPE_NATS_URL", "nats://n1:4222"}, {"TROUPE_NATS_URLS", "nats://n1:4222"}});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.nats.urls == std::vector<std::string>{"nats://n1:4222"});
}

TEST_CASE("TROUPE_AUTH_JWT_TENANT_CLAIM and TROUPE_AUTH_TENANT set the tenant keys",
          "[config][env]") {
  CHECK(env_name(*find_key("auth", "jwt_tenant_claim")) == "TROUPE_AUTH_JWT_TENANT_CLAIM");
  CHECK(env_name(*find_key("auth", "tenant")) == "TROUPE_AUTH_TENANT");
  auto r = load(minimal + "[auth]\njwt_tenant_claim = \"org\"\ntenant = \"from-file\"\n",
                {{"TROUPE_AUTH_JWT_TENANT_CLAIM", " tid "}, {"TROUPE_AUTH_TENANT", "acme"}});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.auth.jwt_tenant_claim == "tid");
  CHECK(r.config.auth.tenant == "acme");
  auto unset = load(minimal, {{"TROUPE_AUTH_TENANT", ""}});
  REQUIRE(unset.ok());
  CHECK(unset.config.auth.tenant.empty());
}

TEST_CASE("unknown TROUPE_ variables belong to other tools and are ignored", "[config][env]") {
  auto r = load(minimal, {{"TROUPE_HOME", "/x"},
                          {"TROUPE_NODE", "y"},
                          {"TROUPE_ADMIN_BOGUS", "1"},
                          {"TROUPE_", ""},
                          {"troupe_admin_port", "abc"},
                          {"PATH", "/bin"}});
  INFO(all_described(r));
  CHECK(r.ok());
  CHECK(r.config.admin.port == 9464);
}

TEST_CASE("an empty variable for an optional string leaves its default", "[config][env]") {
  auto r = load(minimal, {{"TROUPE_NODE_ID", ""}, {"TROUPE_BUS_PRINCIPAL_KEY_FILE", " "}});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.node.id == default_node_id());
  CHECK(r.config.bus.principal_key_file.empty());
}

TEST_CASE("troupe_environment returns exactly the TROUPE_ variables of this process",
          "[config][env]") {
  ::setenv("TROUPE_CONFIG_TEST_MARKER", "a=b", 1);
  ::setenv("NOT_TROUPE_CONFIG_TEST", "x", 1);
  auto env = troupe_environment();
  ::unsetenv("TROUPE_CONFIG_TEST_MARKER");
  ::unsetenv("NOT_TROUPE_CONFIG_TEST");
  REQUIRE(env.count("TROUPE_CONFIG_TEST_MARKER") == 1);
  CHECK(env.at("TROUPE_CONFIG_TEST_MARKER") == "a=b");
  CHECK(env.count("NOT_TROUPE_CONFIG_TEST") == 0);
  for (const auto& [name, value] : env)
    CHECK(name.starts_with("TROUPE_"));
}

TEST_CASE("inference.provider_threads comes from its variable and stays in 1..64",
          "[config][env]") {
  CHECK(defaults({}).config.inference.provider_threads == 2);
  auto r = load(minimal, {{"TROUPE_INFERENCE_PROVIDER_THREADS", "8"}});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.inference.provider_threads == 8);
  for (std::string bad : {"0", "65"}) {
    INFO(bad);
    CHECK(only_problem(load(minimal, {{"TROUPE_INFERENCE_PROVIDER_THREADS", bad}})).code
          == "E003");
  }
}
