#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <unistd.h>

#include "actors/gateway/identity/bearer_authenticator.hpp"
#include "tests/identity/sync_auth.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_server.hpp"

using namespace troupe;
using namespace troupe::identity_test;
using namespace std::chrono_literals;

namespace {

struct run_result {
  int code;
  std::string output; // stdout and stderr together
};

/// Runs `troupe <args>` to completion.
run_result troupe_cli(std::vector<std::string> args) {
  static std::atomic<int> counter{0};
  auto log = std::filesystem::temp_directory_path()
             / ("troupe-apikey-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  args.insert(args.begin(), TROUPE_BINARY);
  int code = -1;
  {
    test::child_process p{args, log.string()};
    code = p.wait_for(30s);
  }
  std::ifstream in{log};
  std::string output{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  std::filesystem::remove(log);
  return {code, output};
}

} // namespace

TEST_CASE("troupe apikey creates, lists and revokes keys on a migrated database",
          "[identity][integration]") {
  auto url = test::shared_pg_server().create_database("identity_cli");

  auto early = troupe_cli(
      {"apikey", "create", "--tenant", "acme", "--user", "alice", "--database-url", url});
  CHECK(early.code == 1);
  CHECK_THAT(early.output, Catch::Contains("troupe migrate"));

  REQUIRE(troupe_cli({"migrate", "--database-url", url}).code == 0);

  auto created = troupe_cli({"apikey", "create", "--tenant", "acme", "--user", "alice", "--name",
                             "ci", "--role", "reader", "--role", "writer", "--database-url", url});
  REQUIRE(created.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(created.output, m,
                            std::regex{"api key: (trp_([A-Za-z0-9]{12})_[A-Za-z0-9]{43})"}));
  auto full_key = m[1].str();
  auto key_id = m[2].str();
  CHECK_THAT(created.output, Catch::Contains("key id:  " + key_id));

  gateway::identity::bearer_options o;
  o.api_keys.database_url = url;
  o.cache_ttl = 0ms;
  auto auth = gateway::identity::make_bearer_authenticator(o);
  REQUIRE(auth);
  auto r = authenticate(**auth, bearer(full_key));
  REQUIRE(code_of(r) == "ok");
  CHECK(std::get<troupe::v1::Principal>(r).roles_size() == 2);

  auto listed = troupe_cli({"apikey", "list", "--database-url", url});
  CHECK(listed.code == 0);
  CHECK_THAT(listed.output, Catch::Contains(key_id));
  CHECK_THAT(listed.output, Catch::Contains("reader,writer"));
  CHECK_THAT(listed.output, !Catch::Contains(full_key.substr(17)));
  auto other_tenant = troupe_cli({"apikey", "list", "--tenant", "globex", "--database-url", url});
  CHECK(other_tenant.code == 0);
  CHECK_THAT(other_tenant.output, !Catch::Contains(key_id));

  CHECK(troupe_cli({"apikey", "revoke", key_id, "--database-url", url}).code == 0);
  CHECK(code_of(authenticate(**auth, bearer(full_key))) == "invalid_token");
  auto unknown = troupe_cli({"apikey", "revoke", "NoSuchKey000", "--database-url", url});
  CHECK(unknown.code == 1);
  CHECK_THAT(unknown.output, Catch::Contains("no API key"));
  auto whole_key = troupe_cli({"apikey", "revoke", full_key, "--database-url", url});
  CHECK(whole_key.code == 1);
  CHECK_THAT(whole_key.output, !Catch::Contains(full_key));
}

TEST_CASE("troupe apikey create refuses a tenant that is not a subject token",
          "[identity][integration]") {
  auto url = test::shared_pg_server().create_database("identity_cli_bad");
  REQUIRE(troupe_cli({"migrate", "--database-url", url}).code == 0);
  auto bad =
      troupe_cli({"apikey", "create", "--tenant", "a.b", "--user", "u", "--database-url", url});
  CHECK(bad.code == 1);
  CHECK_THAT(bad.output, Catch::Contains("invalid_argument"));
}
