// The official OpenAI Node SDK (tests/compat, installed by scripts/setup.sh)
// against a real node in required mode, with an API key from
// `troupe apikey create`: models, completions, streaming, the stream helper,
// sessions by `user`, and typed errors (tests/compat/openai_sdk.mjs).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/nodes/secured_node.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;

TEST_CASE("the official OpenAI Node SDK works against the gateway unchanged",
          "[chat][compat][integration]") {
  const std::string compat = OPENAI_SDK_DIR;
  INFO("the SDK is installed by scripts/setup.sh (npm ci in " << compat << ")");
  REQUIRE(std::filesystem::exists(compat + "/node_modules/openai/package.json"));
  REQUIRE(std::system("node --version >/dev/null 2>&1") == 0);

  secured_node n;
  auto key = n.create_key("acme", "sdk-user");
  auto log = n.dir + "/sdk.log";
  child_process sdk{{"node", compat + "/openai_sdk.mjs",
                     "http://127.0.0.1:" + std::to_string(n.node->gateway_port()) + "/v1", key.key},
                    log};
  auto code = sdk.wait_for(60s);
  std::ifstream in{log};
  std::string out{std::istreambuf_iterator<char>{in}, {}};
  INFO("the SDK script said:\n" << out);
  CHECK(code == 0);
  CHECK(out.find("openai sdk: all checks passed") != std::string::npos);
}
