#include <catch2/catch.hpp>

#include "config/load.hpp"
#include "config/problem.hpp"
#include "tests/config/helpers.hpp"

using namespace troupe::config;
using namespace troupe::config::test;

namespace {

bool mentions(const problem& p, const std::string& text) {
  return p.message.find(text) != std::string::npos;
}

} // namespace

TEST_CASE("the code table lists E001 to E017 in order, each with a summary", "[config][codes]") {
  auto table = all_codes();
  REQUIRE(table.size() == 17);
  for (std::size_t i = 0; i < table.size(); ++i) {
    auto number = std::to_string(i + 1);
    auto expected = "E" + std::string(3 - number.size(), '0') + number;
    CHECK(table[i].code == expected);
    CHECK_FALSE(table[i].summary.empty());
  }
}

TEST_CASE("E001: an unknown key is reported at its line, with a likely spelling",
          "[config][codes]") {
  auto r = load(minimal + "[admin]\nprot = 9000\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E001");
  CHECK(p.where == "troupe.toml:4:1");
  CHECK(mentions(p, "unknown key 'admin.prot'"));
  CHECK(mentions(p, "did you mean 'port'?"));
}

TEST_CASE("E001: an unknown section and a sub-table of a section are unknown keys",
          "[config][codes]") {
  auto r = load(minimal + "[nast]\nurls = []\n[node.extra]\nx = 1\n");
  CHECK(codes_of(r) == std::vector<std::string>{"E001", "E001"});
  REQUIRE(r.problems.size() == 2);
  CHECK(mentions(r.problems[0], "unknown section 'nast'"));
  CHECK(mentions(r.problems[0], "did you mean 'nats'?"));
  CHECK(r.problems[0].where == "troupe.toml:3:2");
  CHECK(mentions(r.problems[1], "unknown key 'node.extra'"));
}

TEST_CASE("E002: a value of the wrong TOML type names what was expected", "[config][codes]") {
  auto r = load(minimal + R"([admin]
port = "9464"
[node]
roles = "gateway"
heartbeat_interval_ms = 1.5
[nats]
urls = ["nats://a:1", 7]
send_asap = "yes"
)");
  CHECK(codes_of(r) == std::vector<std::string>{"E002", "E002", "E002", "E002", "E002"});
  REQUIRE(r.problems.size() == 5);
  CHECK(mentions(r.problems[0], "admin.port must be an integer, not a string"));
  CHECK(mentions(r.problems[1], "node.roles must be an array of strings, not a string"));
  CHECK(mentions(r.problems[2], "must be an integer, not a float"));
  CHECK(mentions(r.problems[3], "not an array holding an integer"));
  CHECK(r.problems[3].where == "troupe.toml:9:23");
  CHECK(mentions(r.problems[4], "nats.send_asap must be a boolean"));
}

TEST_CASE("E002: a section that is not a table", "[config][codes]") {
  auto r = load("admin = 5\n" + minimal);
  const auto& p = only_problem(r);
  CHECK(p.code == "E002");
  CHECK(mentions(p, "[admin] must be a table, not an integer"));
}

TEST_CASE("E003: a number outside its range, from the file or a variable", "[config][codes]") {
  auto r = load(minimal + "[admin]\nport = 70000\n[node]\nheartbeat_interval_ms = 0\n",
                {{"TROUPE_NATS_MAX_RECONNECT", "99999999999999999999"}});
  CHECK(codes_of(r) == std::vector<std::string>{"E003", "E003", "E003"});
  REQUIRE(r.problems.size() == 3);
  CHECK(mentions(r.problems[0], "admin.port = 70000 is out of range [1, 65535]"));
  CHECK(mentions(r.problems[1], "node.heartbeat_interval_ms = 0 is out of range [50, 60000]"));
  CHECK(r.problems[2].where == "env TROUPE_NATS_MAX_RECONNECT");
}

TEST_CASE("E003: events.max_bytes takes -1 for no limit, or a positive size", "[config][codes]") {
  auto unlimited = load(minimal + "[events]\nmax_bytes = -1\n");
  CHECK(unlimited.ok());
  CHECK(unlimited.config.events.max_bytes == -1);
  auto sized = load(minimal, {{"TROUPE_EVENTS_MAX_BYTES", "1073741824"}});
  CHECK(sized.ok());
  CHECK(sized.config.events.max_bytes == 1073741824);
  auto zero = load(minimal + "[events]\nmax_bytes = 0\n");
  const auto& p = only_problem(zero);
  CHECK(p.code == "E003");
  CHECK(mentions(p, "events.max_bytes = 0 is out of range [1, 1125899906842624] (or -1: no limit)"));
  CHECK(only_problem(load(minimal, {{"TROUPE_EVENTS_MAX_BYTES", "-2"}})).code == "E003");
  CHECK(only_problem(load(minimal + "[events]\nreplicas = 6\n")).code == "E003");
  CHECK(only_problem(load(minimal + "[events]\nduplicate_window_s = 0\n")).code == "E003");
}

TEST_CASE("E004: an unknown role is reported at its element, listing the roles",
          "[config][codes]") {
  auto r = load(minimal + "[node]\nroles = [\"gateway\",\n  \"wizard\"]\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E004");
  CHECK(p.where == "troupe.toml:5:3");
  CHECK(mentions(p, "unknown role 'wizard'"));
  CHECK(mentions(p, "gateway, session, inference"));
  CHECK(r.config.node.roles == all_roles());
}

TEST_CASE("E005: NATS URLs must be nats:// or tls:// and name a server", "[config][codes]") {
  auto r = load(minimal + R"([nats]
urls = ["http://a:1", "nats://", "nats://host:99999", "nats://host/path", "nats://ho st:1", "nats://h:0", "nats://ok:4222"]
)");
  CHECK(codes_of(r) == std::vector<std::string>(6, "E005"));
  CHECK(r.config.nats.urls == std::vector<std::string>{"nats://127.0.0.1:4222"});
}

TEST_CASE("E005: the database URL must be a PostgreSQL URL libpq can parse", "[config][codes]") {
  auto wrong_scheme = load("[database]\nurl = \"mysql://x\"\n");
  CHECK(only_problem(wrong_scheme).where == "troupe.toml:2:7");
  CHECK(only_problem(wrong_scheme).code == "E005");
  CHECK(mentions(only_problem(wrong_scheme), "not a PostgreSQL URL"));

  auto bad_option = load("[database]\nurl = \"postgresql://u:s3cret@h/db?nonsense=1\"\n");
  const auto& p = only_problem(bad_option);
  CHECK(p.code == "E005");
  CHECK(mentions(p, "nonsense"));
  CHECK_FALSE(mentions(p, "s3cret"));
  CHECK(mentions(p, "u:***@h"));
}

TEST_CASE("E005: the admin host must be a host name or an IP address", "[config][codes]") {
  for (std::string host : {"bad host", "a/b", "user@h", "h:80", "[::1]", "exa\x01mple"}) {
    INFO(host);
    auto r = load(minimal, {{"TROUPE_ADMIN_HOST", host}});
    CHECK(only_problem(r).code == "E005");
  }
  for (std::string host : {"0.0.0.0", "localhost", "::1", "node-1.example.com"}) {
    INFO(host);
    CHECK(load(minimal, {{"TROUPE_ADMIN_HOST", host}}).ok());
  }
}

TEST_CASE("E005: a password in a bad NATS URL never appears in the message", "[config][codes]") {
  auto r = load(minimal, {{"TROUPE_NATS_URL", "nats://user:hunter2@host:999999"}});
  const auto& p = only_problem(r);
  CHECK(p.code == "E005");
  CHECK(p.where == "env TROUPE_NATS_URL");
  CHECK_FALSE(mentions(p, "hunter2"));
}

TEST_CASE("E006: database.url is required", "[config][codes]") {
  auto r = load("[admin]\nport = 9000\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E006");
  CHECK(p.where == "troupe.toml");
  CHECK(mentions(p, "database.url"));
}

TEST_CASE("E006: require_principal without a key file, and empty required lists",
          "[config][codes]") {
  auto r = load(minimal + R"([node]
roles = []
[nats]
urls = []
[admin]
host = ""
[bus]
require_principal = true
)");
  CHECK(codes_of(r) == std::vector<std::string>(4, "E006"));
  REQUIRE(r.problems.size() == 4);
  CHECK(mentions(r.problems[0], "node.roles is empty"));
  CHECK(mentions(r.problems[1], "nats.urls is empty"));
  CHECK(mentions(r.problems[2], "admin.host must not be empty"));
  CHECK(mentions(r.problems[3], "principal_key_file"));
  CHECK(r.problems[3].where == "troupe.toml:10:21");
}

TEST_CASE("E007: a syntax error is reported with toml++'s line and column", "[config][codes]") {
  auto r = load(minimal + "[admin]\nport = = 1\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E007");
  CHECK(p.where.starts_with("troupe.toml:4:"));
  CHECK(mentions(p, "TOML syntax error"));
}

TEST_CASE("E007: a table defined twice is a syntax error", "[config][codes]") {
  auto r = load(minimal + "[admin]\nport = 1\n[admin]\nhost = \"x\"\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E007");
  CHECK(p.where == "troupe.toml:5:1");
}

TEST_CASE("E007: a file that does not parse still reports the variables' problems, nothing else",
          "[config][codes]") {
  auto r = load("[node\n", {{"TROUPE_ADMIN_PORT", "abc"}});
  CHECK(codes_of(r) == std::vector<std::string>{"E007", "E010"});
}

TEST_CASE("E008: a file that cannot be read", "[config][codes]") {
  temp_dir dir;
  auto missing = (dir.path() / "none.toml").string();
  auto r = load_file(missing, {{"TROUPE_LOG_LEVEL", "loud"}});
  CHECK(codes_of(r) == std::vector<std::string>{"E008", "E012"});
  REQUIRE_FALSE(r.problems.empty());
  CHECK(r.problems[0].where == missing);
  CHECK(mentions(r.problems[0], "cannot read"));

  auto directory = load_file(dir.path().string(), {});
  CHECK(only_problem(directory).code == "E008");
  CHECK(mentions(only_problem(directory), "directory"));
}

TEST_CASE("E009: node id and cluster must be subject tokens of at most 64 characters",
          "[config][codes]") {
  auto r = load(minimal + "[node]\nid = \"web.1\"\ncluster = \"" + std::string(65, 'c')
                    + "\"\n[bus]\nprincipal_key_id = \"k 1\"\n",
                {{"TROUPE_NODE_CLUSTER", "a>b"}});
  CHECK(codes_of(r) == std::vector<std::string>(4, "E009"));
  REQUIRE(r.problems.size() == 4);
  CHECK(mentions(r.problems[0], "node.id 'web.1' is not a subject token"));
  CHECK(mentions(r.problems[1], "longer than 64"));
  CHECK(r.problems[3].where == "env TROUPE_NODE_CLUSTER");
}

TEST_CASE("E009: an explicitly empty cluster is not an identifier", "[config][codes]") {
  auto r = load(minimal + "[node]\ncluster = \"\"\n");
  CHECK(only_problem(r).code == "E009");
  CHECK(mentions(only_problem(r), "must not be empty"));
}

TEST_CASE("E010: a variable that cannot be read as its key's type", "[config][codes]") {
  auto r = load(minimal, {{"TROUPE_ADMIN_PORT", "94 64"},
                          {"TROUPE_NATS_SEND_ASAP", "maybe"},
                          {"TROUPE_NATS_URLS", "nats://a:1,,nats://b:2"},
                          {"TROUPE_NODE_HEARTBEAT_INTERVAL_MS", "1e3"}});
  CHECK(codes_of(r) == std::vector<std::string>(4, "E010"));
  REQUIRE(r.problems.size() == 4);
  CHECK(r.problems[0].where == "env TROUPE_ADMIN_PORT");
  CHECK(mentions(r.problems[0], "is not an integer"));
  CHECK(mentions(r.problems[1], "is not a boolean"));
  CHECK(mentions(r.problems[2], "has an empty element"));
  CHECK(r.config.admin.port == 9464);
}

TEST_CASE("E011: a role listed twice", "[config][codes]") {
  auto r = load(minimal + "[node]\nroles = [\"tool\", \"memory\", \"tool\"]\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E011");
  CHECK(p.where == "troupe.toml:4:28");
  CHECK(mentions(p, "'tool' is listed twice"));
}

TEST_CASE("E012: an unknown log level or format", "[config][codes]") {
  auto r = load(minimal + "[log]\nlevel = \"loud\"\nformat = \"xml\"\n");
  CHECK(codes_of(r) == std::vector<std::string>{"E012", "E012"});
  REQUIRE(r.problems.size() == 2);
  CHECK(mentions(r.problems[0], "log.level 'loud'"));
  CHECK(mentions(r.problems[1], "(text, json)"));
  for (std::string level : {"trace", "debug", "info", "warn", "error", "critical", "off"})
    CHECK(load(minimal + "[log]\nlevel = \"" + level + "\"\n").ok());
}

TEST_CASE("E013: values that contradict each other", "[config][codes]") {
  auto backoff = load(minimal + "[supervision]\nbackoff_initial_ms = 600\nbackoff_max_ms = 500\n");
  const auto& p = only_problem(backoff);
  CHECK(p.code == "E013");
  CHECK(p.where == "troupe.toml:5:18");
  CHECK(mentions(p, "backoff_initial_ms (600) is greater than supervision.backoff_max_ms (500)"));

  auto buffer = load(
      minimal + "[nats]\nreconnect_buffer_bytes = 65536\n[bus]\nmax_envelope_bytes = 131072\n");
  CHECK(only_problem(buffer).code == "E013");
  CHECK(only_problem(buffer).where == "troupe.toml:6:22");

  auto aliases =
      load(minimal, {{"TROUPE_NATS_URL", "nats://a:1"}, {"TROUPE_NATS_URLS", "nats://b:1"}});
  CHECK(only_problem(aliases).code == "E013");
  CHECK(only_problem(aliases).where == "env TROUPE_NATS_URL");
}

TEST_CASE("E013: the events duplicate window must fit in max_age and outlast an ack timeout",
          "[config][codes]") {
  auto window = load(minimal + "[events]\nmax_age_hours = 1\nduplicate_window_s = 7200\n");
  const auto& p = only_problem(window);
  CHECK(p.code == "E013");
  CHECK(p.where == "troupe.toml:5:22");
  CHECK(mentions(p, "events.duplicate_window_s (7200) is longer than events.max_age_hours (1)"));
  // max_age_hours = 0 keeps events for ever: any window fits.
  CHECK(load(minimal + "[events]\nmax_age_hours = 0\nduplicate_window_s = 7200\n").ok());

  auto ack = load(minimal + "[events]\nduplicate_window_s = 2\nack_timeout_ms = 2000\n");
  CHECK(only_problem(ack).code == "E013");
  CHECK(only_problem(ack).where == "troupe.toml:5:18");
  CHECK(mentions(only_problem(ack), "a retry would fall outside the duplicate window"));
}

TEST_CASE("E013: a variable that creates the contradiction is where it is reported",
          "[config][codes]") {
  auto r = load(minimal + "[supervision]\nbackoff_initial_ms = 600\n",
                {{"TROUPE_SUPERVISION_BACKOFF_MAX_MS", "100"}});
  CHECK(only_problem(r).where == "env TROUPE_SUPERVISION_BACKOFF_MAX_MS");
}

TEST_CASE("E014: a principal key file that is missing, not a file, or shorter than 32 bytes",
          "[config][codes]") {
  temp_dir dir;
  auto short_key = dir.write("short.key", std::string(31, 's'));
  auto good_key = dir.write("good.key", std::string(32, 'g'));
  auto with_key = [&](const std::string& path) {
    return load(minimal + "[bus]\nprincipal_key_file = \"" + path + "\"\n");
  };
  auto missing = with_key((dir.path() / "nope.key").string());
  CHECK(only_problem(missing).code == "E014");
  CHECK(mentions(only_problem(missing), "cannot be read"));
  auto folder = with_key(dir.path().string());
  CHECK(only_problem(folder).code == "E014");
  CHECK(mentions(only_problem(folder), "not a regular file"));
  auto too_short = with_key(short_key);
  CHECK(only_problem(too_short).code == "E014");
  CHECK(mentions(only_problem(too_short), "holds 31 bytes"));
  CHECK(with_key(good_key).ok());
}

TEST_CASE("E014: an Ed25519 public key file must exist but may be short, a JWT secret needs 32 bytes",
          "[config][codes]") {
  temp_dir dir;
  auto pem = dir.write("ed.pem", "short");
  auto secret = dir.write("hs.key", std::string(16, 's'));
  CHECK(load(minimal + "[auth]\njwt_ed25519_public_key_file = \"" + pem + "\"\n").ok());
  auto missing = load(minimal + "[auth]\njwt_ed25519_public_key_file = \""
                      + (dir.path() / "none.pem").string() + "\"\n");
  CHECK(only_problem(missing).code == "E014");
  CHECK(mentions(only_problem(missing), "auth.jwt_ed25519_public_key_file"));
  auto short_secret = load(minimal + "[auth]\njwt_hs256_secret_file = \"" + secret + "\"\n");
  CHECK(only_problem(short_secret).code == "E014");
  CHECK(mentions(only_problem(short_secret), "auth.jwt_hs256_secret_file"));
}

TEST_CASE("E015: auth.mode is required or dev", "[config][codes]") {
  auto r = load(minimal + "[auth]\nmode = \"open\"\n");
  CHECK(only_problem(r).code == "E015");
  CHECK(only_problem(r).where == "troupe.toml:4:8");
  CHECK(load(minimal + "[auth]\nmode = \"dev\"\n").ok());
  CHECK(only_problem(load(minimal, {{"TROUPE_AUTH_MODE", "none"}})).code == "E015");
}

TEST_CASE("E016: free text with control characters or too long", "[config][codes]") {
  auto r = load(minimal, {{"TROUPE_AUTH_JWT_ISSUER", "iss\x01"}});
  CHECK(only_problem(r).code == "E016");
  CHECK(only_problem(load(minimal, {{"TROUPE_AUTH_JWT_AUDIENCE", std::string(513, 'a')}})).code
        == "E016");
  CHECK(load(minimal, {{"TROUPE_AUTH_JWT_ISSUER", "https://issuer.example/"}}).ok());
}

TEST_CASE("E006: an empty JWT tenant claim, from the file or a variable", "[config][codes]") {
  auto r = load(minimal + "[auth]\njwt_tenant_claim = \"\"\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E006");
  CHECK(p.where == "troupe.toml:4:20");
  CHECK(mentions(p, "auth.jwt_tenant_claim is empty"));
  auto env = load(minimal, {{"TROUPE_AUTH_JWT_TENANT_CLAIM", "  "}});
  CHECK(only_problem(env).code == "E006");
  CHECK(only_problem(env).where == "env TROUPE_AUTH_JWT_TENANT_CLAIM");
}

TEST_CASE("E009: a pinned tenant must be a subject token", "[config][codes]") {
  auto r = load(minimal + "[auth]\ntenant = \"acme.eu\"\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E009");
  CHECK(mentions(p, "auth.tenant 'acme.eu' is not a subject token"));
  CHECK(r.config.auth.tenant.empty());
  CHECK(only_problem(load(minimal, {{"TROUPE_AUTH_TENANT", std::string(65, 't')}})).code
        == "E009");
}

TEST_CASE("E016: a JWT tenant claim name with control characters or too long", "[config][codes]") {
  CHECK(only_problem(load(minimal, {{"TROUPE_AUTH_JWT_TENANT_CLAIM", "t\x01id"}})).code == "E016");
  CHECK(only_problem(load(minimal, {{"TROUPE_AUTH_JWT_TENANT_CLAIM", std::string(513, 't')}})).code
        == "E016");
}

TEST_CASE("E017: dev mode must act for the pinned tenant", "[config][codes]") {
  auto r = load(minimal + "[auth]\nmode = \"dev\"\ntenant = \"acme\"\n");
  const auto& p = only_problem(r);
  CHECK(p.code == "E017");
  CHECK(p.where == "troupe.toml:5:10");
  CHECK(mentions(p, "auth.dev_tenant 'default', but auth.tenant pins 'acme'"));

  // Reported at the value set last: here the variable that broke the agreement.
  auto env = load(minimal + "[auth]\nmode = \"dev\"\ndev_tenant = \"acme\"\ntenant = \"acme\"\n",
                  {{"TROUPE_AUTH_DEV_TENANT", "globex"}});
  CHECK(only_problem(env).code == "E017");
  CHECK(only_problem(env).where == "env TROUPE_AUTH_DEV_TENANT");

  // Only dev mode acts for dev_tenant; a rejected pin is one E009, not also an E017.
  CHECK(load(minimal + "[auth]\ntenant = \"acme\"\n").ok());
  CHECK(only_problem(load(minimal + "[auth]\nmode = \"dev\"\ntenant = \"a.b\"\n")).code
        == "E009");
}
