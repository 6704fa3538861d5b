#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "actors/inference/keyring.hpp"
#include "storage/provider_store.hpp"
#include "tests/inference/registry/registry_test_support.hpp"
#include "tests/support/child_process.hpp"

using namespace troupe::inference::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* secret = "sk-cli-test-0123456789abcdef";

struct run_result {
  int code;
  std::string output; // stdout and stderr together
};

/// `troupe ARGS... --database-url URL [--master-key KEY]` as a real process.
struct cli {
  std::string url = migrated_database();
  temp_dir dir;
  int runs = 0;

  run_result run(std::vector<std::string> args, std::vector<std::string> env = {}) {
    std::vector<std::string> argv{TROUPE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--database-url", url});
    auto log = dir / ("run-" + std::to_string(runs++) + ".log");
    troupe::test::child_process proc{argv, log.string(), std::move(env)};
    int code = proc.wait_for(30s);
    return {code, read_file(log)};
  }

  std::string master_key() const { return (dir / "keys/master.key").string(); }

  run_result add_openai() {
    write_file(dir / "openai.key", std::string{secret} + "\n");
    return run({"provider", "add", "openai", "--base-url", "https://api.openai.com/v1/",
                "--models", "gpt-4o,gpt-4o-mini", "--api-key-file", (dir / "openai.key").string(),
                "--master-key", master_key()});
  }
};

} // namespace

TEST_CASE_METHOD(cli, "provider add seals the key from a file under a new master key",
                 "[registry][integration]") {
  auto added = add_openai();
  INFO(added.output);
  REQUIRE(added.code == 0);
  CHECK_THAT(added.output, Catch::Contains("stored (sealed)"));
  CHECK_THAT(added.output, !Catch::Contains(secret));

  struct stat st {};
  REQUIRE(::stat(master_key().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  auto raw = raw_sealed_key(url, "openai");
  CHECK(raw.find(secret) == std::string::npos);
  auto ring = troupe::inference::keyring::open_or_create(master_key());
  REQUIRE(ring);
  auto opened = ring->open(raw, "openai");
  REQUIRE(opened);
  CHECK(*opened == secret); // the trailing newline of the file is not part of the key
}

TEST_CASE_METHOD(cli, "provider list shows providers and whether a key is set, never the key",
                 "[registry][integration]") {
  REQUIRE(add_openai().code == 0);
  REQUIRE(run({"provider", "add", "local", "--base-url", "http://127.0.0.1:8080/v1"}).code == 0);
  auto list = run({"provider", "list"});
  INFO(list.output);
  REQUIRE(list.code == 0);
  CHECK_THAT(list.output, Catch::Contains("openai") && Catch::Contains("https://api.openai.com/v1")
                            && Catch::Contains("gpt-4o, gpt-4o-mini") && Catch::Contains("set"));
  CHECK_THAT(list.output, Catch::Contains("local") && Catch::Contains("(any)")
                            && Catch::Contains("none"));
  CHECK_THAT(list.output, !Catch::Contains(secret));
  CHECK_THAT(list.output, !Catch::Contains(raw_sealed_key(url, "openai")));
}

TEST_CASE_METHOD(cli, "provider add reads the key from a variable", "[registry][integration]") {
  auto added = run({"provider", "add", "mistral", "--base-url", "https://api.mistral.ai/v1",
                    "--api-key-env", "MY_MISTRAL_KEY", "--master-key", master_key()},
                   {std::string{"MY_MISTRAL_KEY="} + secret});
  INFO(added.output);
  REQUIRE(added.code == 0);
  auto ring = troupe::inference::keyring::open_or_create(master_key());
  REQUIRE(ring);
  CHECK(*ring->open(raw_sealed_key(url, "mistral"), "mistral") == secret);

  auto unset = run({"provider", "add", "mistral", "--base-url", "https://api.mistral.ai/v1",
                    "--api-key-env", "NOT_SET_ANYWHERE_42", "--master-key", master_key()});
  CHECK(unset.code == 1);
  CHECK_THAT(unset.output, Catch::Contains("NOT_SET_ANYWHERE_42"));
}

TEST_CASE_METHOD(cli, "provider add refuses bad input with a clear message and stores nothing",
                 "[registry][integration]") {
  write_file(dir / "spaced.key", "sk one two\n");
  struct refusal {
    std::vector<std::string> args; // after "provider add"
    std::string says;
    std::string never_says = "\x01"; // e.g. a password or key that must not be echoed
  };
  const std::vector<refusal> cases{
    {{"Open AI", "--base-url", "https://x.example.com"}, "invalid provider name"},
    {{"p", "--base-url", "https://u:hunter2@x.example.com"}, "credentials", "hunter2"},
    {{"p", "--base-url", "ftp://x.example.com"}, "http or https"},
    {{"p", "--base-url", "https://x.example.com", "--api-key-env", "A", "--api-key-stdin"},
     "excludes"},
    {{"p", "--base-url", "https://x.example.com", "--api-key-file", (dir / "missing.key").string()},
     "missing.key"},
    {{"p", "--base-url", "https://x.example.com", "--api-key-file", (dir / "spaced.key").string()},
     "spaces or control characters", "sk one two"},
    {{"p", "--base-url", "https://x.example.com", "--models", "ok,has space"}, "has space"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"provider", "add"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = run(args);
    INFO(r.output);
    CHECK(r.code != 0);
    CHECK_THAT(r.output, Catch::Contains(c.says, Catch::CaseSensitive::No));
    CHECK_THAT(r.output, !Catch::Contains(c.never_says));
  }
  auto list = run({"provider", "list"});
  REQUIRE(list.code == 0);
  CHECK_THAT(list.output, Catch::Contains("no providers"));
}

TEST_CASE_METHOD(cli, "a provider added without a key off this machine draws a warning",
                 "[registry][integration]") {
  auto added = run({"provider", "add", "remote", "--base-url", "https://llm.example.com/v1"});
  CHECK(added.code == 0);
  CHECK_THAT(added.output, Catch::Contains("provider_key_missing"));
}

TEST_CASE_METHOD(cli, "provider remove deletes the row and names roles left dangling",
                 "[registry][integration]") {
  REQUIRE(add_openai().code == 0);
  REQUIRE(run({"role", "set", "title", "openai/gpt-4o-mini"}).code == 0);
  auto removed = run({"provider", "remove", "openai"});
  INFO(removed.output);
  CHECK(removed.code == 0);
  CHECK_THAT(removed.output, Catch::Contains("removed provider openai"));
  CHECK_THAT(removed.output, Catch::Contains("title"));
  CHECK(raw_sealed_key(url, "openai") == "<null>");
  auto again = run({"provider", "remove", "openai"});
  CHECK(again.code == 1);
  CHECK_THAT(again.output, Catch::Contains("no provider named 'openai'"));
}

TEST_CASE_METHOD(cli, "roles are set, listed and removed from the command line",
                 "[registry][integration]") {
  auto set = run({"role", "set", "title", "openai/gpt-4o-mini"});
  INFO(set.output);
  REQUIRE(set.code == 0);
  auto list = run({"role", "list"});
  INFO(list.output);
  REQUIRE(list.code == 0);
  CHECK_THAT(list.output, Catch::Contains("title") && Catch::Contains("openai/gpt-4o-mini"));
  CHECK_THAT(list.output, Catch::Contains("troupe-dev")); // default, while no provider exists
  CHECK_THAT(list.output, Catch::Contains("guardrail") && Catch::Contains("(not set)"));

  CHECK(run({"role", "set", "Bad Role", "x"}).code == 1);
  CHECK(run({"role", "remove", "title"}).code == 0);
  auto missing = run({"role", "remove", "title"});
  CHECK(missing.code == 1);
  CHECK_THAT(missing.output, Catch::Contains("no role named 'title'"));
}

TEST_CASE_METHOD(cli, "the registry commands fail clearly without a reachable database",
                 "[registry][integration]") {
  url = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2";
  auto list = run({"provider", "list"});
  CHECK(list.code == 1);
  CHECK_THAT(list.output, Catch::Contains("troupe provider list") && Catch::Contains("unreachable"));
}
