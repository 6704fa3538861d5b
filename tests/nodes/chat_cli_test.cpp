// `troupe chat` against a real node: lines on its stdin, its stdout and
// stderr read back, as a user at a terminal would see them (without prompts).
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tests/nodes/node_fixture.hpp"
#include "tests/support/free_port.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace troupe::test;
using namespace std::chrono_literals;

namespace {

struct chat_run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs `troupe chat ARGS` with `input` on stdin.
chat_run run_chat(const std::string& args, const std::string& input) {
  temp_dir tmp{"troupe-chat"};
  const auto& dir = tmp.path();
  std::ofstream{dir + "/in"} << input;
  child_process p{{"/bin/sh", "-c",
                   std::string{TROUPE_BINARY} + " chat " + args + " <" + dir + "/in >" + dir
                     + "/out 2>" + dir + "/err"}};
  chat_run r;
  r.exit_code = p.wait_for(20s);
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  return r;
}

std::string fresh_database() {
  static int n = 0;
  return shared_pg_server().create_database("chat_cli_" + std::to_string(++n));
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

} // namespace

TEST_CASE("troupe chat streams answers, keeps the session, lists sessions and starts new ones",
          "[chat][integration]") {
  nats_server nats;
  node_process node{{"cli", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  auto url = "--url http://127.0.0.1:" + std::to_string(node.gateway_port());

  auto r = run_chat(url, "hello there\nagain\n/sessions\n/history\n/new\nfresh start\n/quit\n"
                         "never sent\n");
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(has(r.out, "troupe-dev heard: hello there (turn 1)\n"));
  CHECK(has(r.out, "troupe-dev heard: again (turn 2)\n"));
  // /history replays the session so far.
  CHECK(has(r.out, "you> hello there\ntroupe> troupe-dev heard: hello there (turn 1)\n"));
  // After /new the dev model counts from one again.
  CHECK(has(r.out, "troupe-dev heard: fresh start (turn 1)\n"));
  CHECK_FALSE(has(r.out, "never sent"));
  // /sessions showed the one session there was, marked as the current one.
  auto star = r.out.find("* ");
  REQUIRE(star != std::string::npos);
  auto sid = r.out.substr(star + 2, 32);
  CHECK(has(r.out, "* " + sid + "  4 messages  hello there"));

  SECTION("--session continues a session and shows its history first") {
    auto again = run_chat(url + " --session " + sid, "one more\n");
    INFO("stdout:\n" << again.out << "\nstderr:\n" << again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.out.rfind("you> hello there\n", 0) == 0);
    CHECK(has(again.out, "troupe-dev heard: one more (turn 3)\n"));
  }
}

TEST_CASE("troupe chat reports errors with their codes on stderr and exits 1",
          "[chat][integration]") {
  nats_server nats;
  node_process node{{"cli-err", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  auto url = "--url http://127.0.0.1:" + std::to_string(node.gateway_port());

  SECTION("an unknown session") {
    auto r = run_chat(url + " --session nosuchsession", "hi\n");
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "error: session_not_found: "));
  }
  SECTION("an unknown command, and the chat goes on") {
    auto r = run_chat(url, "/frobnicate\nhi\n");
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "error: unknown_command: '/frobnicate'"));
    CHECK(has(r.out, "troupe-dev heard: hi (turn 1)"));
  }
  SECTION("an unknown model") {
    auto r = run_chat(url + " --model nosuch/model", "hi\n");
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "error: "));
    CHECK_FALSE(has(r.out, "heard"));
  }
  SECTION("no gateway at the URL") {
    closed_port nobody;
    auto r = run_chat("--url http://127.0.0.1:" + std::to_string(nobody.port()), "hi\n/sessions\n");
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "error: unreachable: cannot reach the gateway at http://127.0.0.1:"));
  }
}
