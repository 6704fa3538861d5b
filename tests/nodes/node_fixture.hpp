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
#include "tests/support/temp_dir.hpp"

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

/// A node on loopback ports picked just before it starts. Another process
/// may take one of them first; wait_ready() then starts the node again on
/// new ports, and it only counts a node as ready once the node's own log
/// says it listens where the fixture points (so a stranger that took the
/// port is never mistaken for it).
class node_process {
public:
  explicit node_process(node_options opts) : opts_(std::move(opts)) {
    char tmpl[] = "/tmp/troupe-node-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    launch();
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
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (int relaunches = 0;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
      bool up = wait_until(left, [&] {
        return !proc_->running() || (listening() && ready_status() == 200);
      });
      if (proc_->running())
        return up;
      if (relaunches == 10 || log().find("Address already in use") == std::string::npos)
        return false;
      ++relaunches;
      std::filesystem::rename(dir_ + "/node.log",
                              dir_ + "/node.log." + std::to_string(relaunches));
      launch();
    }
  }
  child_process& process() { return *proc_; }
  std::string log() const {
    std::ifstream in{dir_ + "/node.log"};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  }
  const std::string& dir() const { return dir_; }

private:
  void launch() {
    admin_port_ = free_port();
    gateway_port_ = free_port();
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

  /// The node's log says its admin server (and its gateway, when it has
  /// that role) listen on the ports this fixture gave it.
  bool listening() const {
    auto text = log();
    auto has = [&](const std::string& what, uint16_t port) {
      return text.find(what + "http://127.0.0.1:" + std::to_string(port)) != std::string::npos;
    };
    bool gateway_role = opts_.roles.empty() || opts_.roles.find("\"gateway\"") != std::string::npos;
    return has("up: admin ", admin_port_) && (!gateway_role || has("gateway: ", gateway_port_));
  }

  node_options opts_;
  uint16_t admin_port_ = 0;
  uint16_t gateway_port_ = 0;
  std::string dir_;
  std::unique_ptr<child_process> proc_;
};

/// A principal key shared by the nodes of one test cluster, removed with it.
struct shared_key {
  temp_dir dir{"troupe-e2e"};
  std::string path = dir.path() + "/principal.key";

  shared_key() {
    std::ofstream{path} << std::string(32, 'p');
    std::filesystem::permissions(path, std::filesystem::perms::owner_read
                                           | std::filesystem::perms::owner_write);
  }
};

/// POSTs a JSON body to the node's gateway.
inline http_response post(const node_process& node, const std::string& path,
                          const nlohmann::json& body, long timeout_ms = 10'000) {
  return http_send({"POST", node.gateway(path), {"Content-Type: application/json"}, body.dump(),
                    timeout_ms});
}

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
