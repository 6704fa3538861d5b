#pragma once
/// Runs `troupe node` as a real process against a real nats-server and
/// PostgreSQL, with a config file written into a temporary directory.
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/free_port.hpp"
#include "tests/support/http_client.hpp"

namespace troupe::test {

struct node_options {
  std::string id;
  std::string roles; // a TOML array; empty: every role
  std::string nats_url;
  std::string database_url;
  std::string extra{}; // more TOML appended verbatim
  std::string auth_mode = "dev";
  std::string principal_key_file{}; // empty: the node's default (.troupe/principal.key)
  std::string auth_extra{};         // more TOML lines for the [auth] table
};

class node_process {
public:
  explicit node_process(node_options opts)
    : opts_(std::move(opts)), admin_port_(free_port()), gateway_port_(free_port()) {
    char tmpl[] = "/tmp/troupe-node-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::ofstream out{dir_ + "/troupe.toml"};
    auto roles = opts_.roles.empty() ? std::string{R"(["gateway", "session", "inference", "tool", "guardrail", "memory", "audit", "sandbox"])"} : opts_.roles;
    out << "[node]\nid = \"" << opts_.id << "\"\ncluster = \"test\"\nroles = " << roles
        << "\nheartbeat_interval_ms = 200\nshutdown_timeout_s = 8\n"
        << "[nats]\nurls = [\"" << opts_.nats_url << "\"]\nreconnect_wait_ms = 100\n"
        << "[database]\nurl = \"" << opts_.database_url << "\"\n"
        << "[admin]\nport = " << admin_port_ << "\n"
        << "[gateway]\nport = " << gateway_port_ << "\nrate_limit_per_s = 0\n"
        << "[auth]\nmode = \"" << opts_.auth_mode << "\"\n" << opts_.auth_extra
        << "[bus]\nprincipal_key_file = \"" << opts_.principal_key_file << "\"\n"
        << "[supervision]\nbackoff_initial_ms = 20\nbackoff_max_ms = 200\n"
        << opts_.extra;
    out.close();
    proc_ = std::make_unique<child_process>(
      std::vector<std::string>{TROUPE_BINARY, "node", "--config", dir_ + "/troupe.toml"},
      dir_ + "/node.log");
  }
  ~node_process() {
    proc_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string admin(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(admin_port_) + path;
  }
  uint16_t gateway_port() const noexcept { return gateway_port_; }
  std::string gateway(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(gateway_port_) + path;
  }
  long ready_status() const { return http_get(admin("/ready")).status; }
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    return wait_until(timeout, [&] { return ready_status() == 200; });
  }
  child_process& process() { return *proc_; }
  std::string log() const {
    std::ifstream in{dir_ + "/node.log"};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  }
  const std::string& dir() const { return dir_; }

private:
  node_options opts_;
  uint16_t admin_port_;
  uint16_t gateway_port_;
  std::string dir_;
  std::unique_ptr<child_process> proc_;
};

struct cli_result {
  int code = -1; // exit status, -1 after a 20 s timeout
  std::string output; // stdout and stderr
};

/// Runs `troupe ARGS` (a command, not a node) to its end; its output goes
/// through `log_file`, which is overwritten.
inline cli_result run_troupe(std::vector<std::string> args, const std::string& log_file,
                             std::vector<std::string> env = {}) {
  args.insert(args.begin(), TROUPE_BINARY);
  std::filesystem::remove(log_file);
  child_process p{std::move(args), log_file, std::move(env)};
  cli_result r;
  r.code = p.wait_for(std::chrono::seconds(20));
  std::ifstream in{log_file};
  r.output.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
  return r;
}

} // namespace troupe::test
