#include "tests/support/nats_server.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <signal.h>
#include <stdexcept>

namespace troupe::test {

namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// The client port in a ports file ({"nats":["nats://127.0.0.1:4222"],...}),
/// 0 while the file is absent or incomplete.
uint16_t client_port(const std::string& ports_file) {
  auto text = read_file(ports_file);
  const std::string marker = "nats://127.0.0.1:";
  auto at = text.find(marker);
  if (at == std::string::npos)
    return 0;
  auto end = text.find('"', at);
  if (end == std::string::npos)
    return 0;
  try {
    return static_cast<uint16_t>(std::stoul(text.substr(at + marker.size(), end - at)));
  } catch (const std::exception&) {
    return 0;
  }
}

} // namespace

nats_server::nats_server() {
  char tmpl[] = "/tmp/troupe-nats-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("nats_server: mkdtemp failed");
  dir_ = tmpl;
  start();
}

nats_server::~nats_server() {
  proc_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void nats_server::start() {
  // A restart wants the old port back; whoever took it meanwhile may hold
  // it a while (a client's ephemeral port, a server in another test).
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!launch()) {
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error("nats-server: port " + std::to_string(port_) + " stayed in use; see "
                               + dir_ + "/server.log");
    struct timespec ts {
      0, 100'000'000
    };
    nanosleep(&ts, nullptr);
  }
}

bool nats_server::launch() {
  auto log = dir_ + "/server.log";
  auto requested = port_ == 0 ? std::string{"-1"} : std::to_string(port_);
  auto earlier = read_file(log).size(); // the log is appended to, attempt after attempt
  proc_ = std::make_unique<child_process>(
      std::vector<std::string>{"nats-server", "-a", "127.0.0.1", "-p", requested, "-js", "-sd",
                               dir_ + "/js", "--ports_file_dir", dir_},
      log);
  // The server writes its ports file once every listener is up.
  auto ports_file = dir_ + "/nats-server_" + std::to_string(proc_->pid()) + ".ports";
  uint16_t bound = 0;
  bool up =
      wait_until(30s, [&] { return (bound = client_port(ports_file)) != 0 || !proc_->running(); });
  if (up && bound != 0) {
    port_ = bound;
    return true;
  }
  proc_.reset();
  if (up && read_file(log).find("address already in use", earlier) != std::string::npos)
    return false;
  throw std::runtime_error("nats-server did not start on port " + requested + "; see " + log);
}

void nats_server::stop() {
  if (proc_) {
    proc_->signal(SIGKILL);
    proc_->wait_for(std::chrono::seconds(5));
    proc_.reset();
  }
}

std::string nats_server::url() const {
  return "nats://127.0.0.1:" + std::to_string(port_);
}

} // namespace troupe::test
