#pragma once
/// The node's admin HTTP server (Boost.Beast): /livez, /ready, /health and
/// /metrics. It runs on one I/O thread of its own, never on a CAF scheduler
/// thread; the hooks it calls must be cheap and non-blocking (the node gives
/// it cached state).
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>
#include <string>
#include <vector>

namespace troupe::admin {

struct readiness {
  bool ready = false;
  std::vector<std::string> missing;
};

struct hooks {
  std::function<readiness()> ready;
  std::function<nlohmann::json()> health;
  std::shared_ptr<prometheus::Registry> metrics;
};

struct server_config {
  std::string host = "127.0.0.1";
  uint16_t port = 9464; // 0: any free port (see admin_server::port)
  size_t max_connections = 256;
  std::chrono::milliseconds idle_timeout{30'000};
};

class admin_server {
public:
  /// Binds and starts serving; a bind failure is errc::listen_failed naming
  /// the address and the reason.
  [[nodiscard]] static caf::expected<std::unique_ptr<admin_server>> start(server_config cfg,
                                                                          hooks h);
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// The bound port.
  uint16_t port() const noexcept;

  /// Closes the listener and every connection and joins the I/O thread.
  /// Idempotent.
  void stop();

  struct impl;

private:
  explicit admin_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::admin
