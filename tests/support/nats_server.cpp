#include "tests/support/nats_server.hpp"

#include <filesystem>
#include <signal.h>
#include <stdexcept>

#include "tests/support/free_port.hpp"

namespace troupe::test {

nats_server::nats_server() : port_(free_port()) {
  char tmpl[] = "/tmp/troupe-nats-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  start();
}

nats_server::~nats_server() {
  proc_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void nats_server::start() {
  proc_ = std::make_unique<child_process>(
    std::vector<std::string>{"nats-server", "-a", "127.0.0.1", "-p", std::to_string(port_), "-js",
                             "-sd", dir_ + "/js"},
    dir_ + "/server.log");
  if (!wait_until(std::chrono::seconds(10), [&] { return port_open(port_); }))
    throw std::runtime_error("nats-server did not start on port " + std::to_string(port_)
                             + "; see " + dir_ + "/server.log");
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
