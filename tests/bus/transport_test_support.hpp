#pragma once
/// Helpers shared by the NATS transport, JetStream and KV integration tests:
/// connecting to a test server and collecting received messages safely
/// across the transport's threads.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/errc.hpp"
#include "bus/nats_transport.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/nats_server.hpp"

namespace troupe::test {

using namespace std::chrono_literals;

inline std::shared_ptr<bus::nats_transport> connect_to(const nats_server& srv,
                                                       std::string name = "test",
                                                       prometheus::Registry* metrics = nullptr,
                                                       bus::nats_options opts = {}) {
  opts.urls = {srv.url()};
  opts.name = std::move(name);
  if (opts.reconnect_wait == std::chrono::milliseconds{250})
    opts.reconnect_wait = 50ms; // tests wait for reconnects
  auto t = bus::connect_nats(opts, metrics);
  if (!t)
    FAIL("connect_nats: " << caf::to_string(t.error()));
  return *t;
}

inline bus::errc code_of(const caf::error& err) {
  REQUIRE(err);
  REQUIRE(err.category() == bus::error_category);
  return static_cast<bus::errc>(err.code());
}

/// Thread-safe record of what a subscription received.
class collector {
public:
  bus::message_handler handler() {
    return [this](bus::message m) {
      std::lock_guard<std::mutex> guard{mtx_};
      got_.push_back(std::move(m));
    };
  }
  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return got_.size();
  }
  std::vector<bus::message> messages() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return got_;
  }
  std::vector<std::string> data() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::string> out;
    for (auto& m : got_)
      out.emplace_back(m.data);
    return out;
  }
  bool wait_for(size_t n, std::chrono::milliseconds timeout = 3s) const {
    return wait_until(timeout, [&] { return size() >= n; });
  }

private:
  mutable std::mutex mtx_;
  std::vector<bus::message> got_;
};

} // namespace troupe::test
