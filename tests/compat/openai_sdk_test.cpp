// "The official OpenAI client libraries work against Troupe unchanged", shown
// with the official Node SDK (tests/compat/openai_sdk.mjs, which says what it
// checks) against a real node. The node runs in `required` auth mode with a
// key from `troupe apikey create`, as users run it, so the SDK's own
// Authorization header and its 401 handling are exercised too.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/nodes/secured_node.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// Fails, never skips, when the SDK cannot run: a test that quietly passes
/// without Node.js would prove nothing about compatibility.
void require_sdk_installed(const std::string& compat) {
  INFO("Node.js or the OpenAI SDK is missing or stale: run scripts/setup.sh "
       "(it installs nodejs/npm and runs npm ci in " << compat << ")");
  REQUIRE(std::system("node --version >/dev/null 2>&1") == 0);
  const auto installed = fs::path{compat} / "node_modules/.package-lock.json";
  REQUIRE(fs::exists(fs::path{compat} / "node_modules/openai/package.json"));
  REQUIRE(fs::exists(installed));
  REQUIRE(fs::last_write_time(installed) >= fs::last_write_time(compat + "/package-lock.json"));
}

} // namespace

TEST_CASE("the OpenAI Node SDK: models, completions, streams, sessions and errors against a node",
          "[compat][integration]") {
  const std::string compat = OPENAI_SDK_DIR;
  require_sdk_installed(compat);

  secured_node n;
  auto key = n.create_key("acme", "sdk-user");
  auto log = n.dir + "/sdk.log";
  child_process sdk{{"node", OPENAI_SDK_SCRIPT,
                     "http://127.0.0.1:" + std::to_string(n.node->gateway_port()) + "/v1", key.key},
                    log};
  auto code = sdk.wait_for(60s);
  std::ifstream in{log};
  std::string out{std::istreambuf_iterator<char>{in}, {}};
  INFO("node " << OPENAI_SDK_SCRIPT << " exited " << code << " (-1: timed out) and said:\n"
               << out);
  REQUIRE(code == 0);
  REQUIRE(out.find("openai sdk: all checks passed") != std::string::npos);
}
