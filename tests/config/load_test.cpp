#include <catch2/catch.hpp>

#include <regex>

#include "config/keys.hpp"
#include "config/load.hpp"
#include "tests/config/helpers.hpp"

using namespace troupe::config;
using namespace troupe::config::test;
using namespace std::chrono_literals;

TEST_CASE("a file that sets only database.url loads with every other value at its default",
          "[config][load]") {
  auto r = load(minimal);
  INFO(all_described(r));
  REQUIRE(r.ok());
  node_config expected;
  expected.database.url = "postgresql://troupe@127.0.0.1:5432/troupe";
  CHECK(r.config == expected);
  CHECK(r.config.node.cluster == "troupe");
  CHECK(r.config.node.roles == all_roles());
  CHECK(r.config.node.heartbeat_interval == 2000ms);
  CHECK(r.config.node.shutdown_timeout == 8s);
  CHECK(r.config.nats.urls == std::vector<std::string>{"nats://127.0.0.1:4222"});
  CHECK(r.config.nats.max_reconnect == -1);
  CHECK(r.config.nats.reconnect_buffer_bytes == 8u << 20);
  CHECK(r.config.admin.port == 9464);
  CHECK(r.config.bus.max_envelope_bytes == 1u << 20);
  CHECK(r.config.bus.principal_key_id == "k1");
  CHECK(r.config.supervision.max_restarts == 5);
  CHECK(r.config.log.level == "info");
  CHECK(r.config.log.format == troupe::log::format::text);
  CHECK(r.config.auth.jwt_tenant_claim == "tenant");
  CHECK(r.config.auth.tenant.empty());
}

TEST_CASE("every key in a file reaches the member it names", "[config][load]") {
  temp_dir dir;
  auto key = dir.write("hmac.key", std::string(40, 'k'));
  auto r = load(R"(
[node]
id = "alpha-1"
cluster = "prod_eu"
roles = ["session", "gateway"]
heartbeat_interval_ms = 500
shutdown_timeout_s = 20
[nats]
urls = ["nats://a:4222", "tls://user:pw@b.example.com:4443"]
connect_timeout_ms = 1500
reconnect_wait_ms = 100
max_reconnect = 10
reconnect_buffer_bytes = 2097152
send_asap = false
[database]
url = "postgres://u:p@db:5433/troupe?sslmode=disable"
connect_timeout_s = 9
migrate_on_start = false
[admin]
host = "0.0.0.0"
port = 9000
[bus]
max_envelope_bytes = 2048
request_timeout_ms = 750
require_principal = true
principal_key_file = ")"
                + key + R"("
principal_key_id = "k2"
[supervision]
max_restarts = 3
window_s = 60
backoff_initial_ms = 10
backoff_max_ms = 100
[log]
level = "debug"
format = "json"
)");
  INFO(all_described(r));
  REQUIRE(r.ok());
  const auto& c = r.config;
  CHECK(c.node.id == "alpha-1");
  CHECK(c.node.cluster == "prod_eu");
  CHECK(c.node.roles == std::vector<role>{role::session, role::gateway});
  CHECK(c.node.heartbeat_interval == 500ms);
  CHECK(c.node.shutdown_timeout == 20s);
  CHECK(c.nats.urls
        == std::vector<std::string>{"nats://a:4222", "tls://user:pw@b.example.com:4443"});
  CHECK(c.nats.connect_timeout == 1500ms);
  CHECK(c.nats.reconnect_wait == 100ms);
  CHECK(c.nats.max_reconnect == 10);
  CHECK(c.nats.reconnect_buffer_bytes == 2097152);
  CHECK_FALSE(c.nats.send_asap);
  CHECK(c.database.url == "postgres://u:p@db:5433/troupe?sslmode=disable");
  CHECK(c.database.connect_timeout == 9s);
  CHECK_FALSE(c.database.migrate_on_start);
  CHECK(c.admin.host == "0.0.0.0");
  CHECK(c.admin.port == 9000);
  CHECK(c.bus.max_envelope_bytes == 2048);
  CHECK(c.bus.request_timeout == 750ms);
  CHECK(c.bus.require_principal);
  CHECK(c.bus.principal_key_file == key);
  CHECK(c.bus.principal_key_id == "k2");
  CHECK(c.supervision.max_restarts == 3);
  CHECK(c.supervision.window == 60s);
  CHECK(c.supervision.backoff_initial == 10ms);
  CHECK(c.supervision.backoff_max == 100ms);
  CHECK(c.log.level == "debug");
  CHECK(c.log.format == troupe::log::format::json);
}

TEST_CASE("the JWT tenant claim and the pinned tenant reach auth, in dev mode too",
          "[config][load]") {
  auto r = load(minimal + "[auth]\njwt_tenant_claim = \"tid\"\ntenant = \"acme\"\n");
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.auth.jwt_tenant_claim == "tid");
  CHECK(r.config.auth.tenant == "acme");
  // Namespaced claims (Auth0 style) are claim names too.
  auto url = load(minimal + "[auth]\njwt_tenant_claim = \"https://troupe.example/tenant\"\n");
  INFO(all_described(url));
  CHECK(url.ok());
  auto dev = load(minimal + "[auth]\nmode = \"dev\"\ndev_tenant = \"acme\"\ntenant = \"acme\"\n");
  INFO(all_described(dev));
  CHECK(dev.ok());
  CHECK(load(minimal + "[auth]\ntenant = \"\"\n").config.auth.tenant.empty());
}

TEST_CASE("the default node id is this host's name made into a subject token", "[config][load]") {
  auto id = default_node_id();
  CHECK(std::regex_match(id, std::regex{"[A-Za-z0-9_-]{1,64}"}));
  CHECK(node_config{}.node.id == id);
  auto r = load(minimal + "[node]\nid = \"\"\n");
  REQUIRE(r.ok());
  CHECK(r.config.node.id == id);
}

TEST_CASE("every problem of a file is reported in one pass, sorted by line", "[config][load]") {
  auto r = load(R"([node]
roles = ["gateway", "wizard"]
cluster = "a.b"
[admin]
port = 0
bogus = 1
[log]
level = "loud"
)");
  CHECK(codes_of(r) == std::vector<std::string>{"E004", "E009", "E003", "E001", "E012", "E006"});
  REQUIRE(r.problems.size() == 6);
  CHECK(r.problems[0].where == "troupe.toml:2:21");
  CHECK(r.problems[1].where == "troupe.toml:3:11");
  CHECK(r.problems[2].where == "troupe.toml:5:8");
  CHECK(r.problems[3].where == "troupe.toml:6:1");
  CHECK(r.problems[4].where == "troupe.toml:8:9");
  // database.url belongs to no line: it comes last, at the file.
  CHECK(r.problems[5].where == "troupe.toml");
}

TEST_CASE("problems in the file come before problems in variables, variables by name",
          "[config][load]") {
  auto r = load(minimal + "[admin]\nport = 70000\n",
                {{"TROUPE_NODE_ROLES", "tool,tool"}, {"TROUPE_ADMIN_PORT", "x"}});
  CHECK(codes_of(r) == std::vector<std::string>{"E003", "E010", "E011"});
  REQUIRE(r.problems.size() == 3);
  CHECK(r.problems[0].where == "troupe.toml:4:8");
  CHECK(r.problems[1].where == "env TROUPE_ADMIN_PORT");
  CHECK(r.problems[2].where == "env TROUPE_NODE_ROLES");
}

TEST_CASE("describe gives code, message and position on one line", "[config][load]") {
  CHECK(describe({"E001", "unknown key 'node.x'", "troupe.toml:3:1"})
        == "E001 unknown key 'node.x' at troupe.toml:3:1");
  CHECK(describe({"E006", "database.url is required", ""}) == "E006 database.url is required");
  auto r = load(minimal + "[node]\nx = 1\n");
  CHECK(describe(only_problem(r)) == "E001 unknown key 'node.x' at troupe.toml:4:1");
}

TEST_CASE("load_file reads a file from disk and names it in positions", "[config][load]") {
  temp_dir dir;
  auto path = dir.write("node.toml", minimal + "[admin]\nport = 9999\nwhat = 1\n");
  auto r = load_file(path, {});
  CHECK(r.config.admin.port == 9999);
  CHECK(only_problem(r).where == path + ":5:1");
}

TEST_CASE("a relative key file in a config file is found beside that file", "[config][load]") {
  temp_dir dir;
  dir.write("hmac.key", std::string(32, 'x'));
  auto path = dir.write("troupe.toml", minimal + "[bus]\nprincipal_key_file = \"hmac.key\"\n");
  auto r = load_file(path, {});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.bus.principal_key_file == (dir.path() / "hmac.key").string());
}

TEST_CASE("a value that fails its check keeps its default and causes no follow-on problem",
          "[config][load]") {
  // 99999999999 is out of range; had it been taken, it would also contradict
  // backoff_max_ms and add an E013.
  auto r = load(minimal + "[supervision]\nbackoff_initial_ms = 99999999999\n");
  CHECK(only_problem(r).code == "E003");
  CHECK(r.config.supervision.backoff_initial == 50ms);
}

TEST_CASE("defaults with TROUPE_DATABASE_URL need no file at all", "[config][load]") {
  auto r = defaults({{"TROUPE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x"}});
  INFO(all_described(r));
  REQUIRE(r.ok());
  CHECK(r.config.database.url == "postgresql://postgres@127.0.0.1:5432/x");
  CHECK(r.config.nats.urls == std::vector<std::string>{"nats://127.0.0.1:4222"});
}

TEST_CASE("defaults without a database URL refuse with E006 and no position", "[config][load]") {
  auto r = defaults({});
  const auto& p = only_problem(r);
  CHECK(p.code == "E006");
  CHECK(p.where.empty());
  CHECK(p.message.find("TROUPE_DATABASE_URL") != std::string::npos);
}

TEST_CASE("a rejected key file is one E014, not also a missing key file", "[config][load]") {
  auto r =
      load(minimal + "[bus]\nrequire_principal = true\nprincipal_key_file = \"/nonexistent/k\"\n");
  CHECK(only_problem(r).code == "E014");
}

TEST_CASE("a rejected database URL is one E005, not also a missing URL", "[config][load]") {
  auto r = load("[database]\nurl = \"mysql://x\"\n");
  CHECK(only_problem(r).code == "E005");
}
