#pragma once
/// The gateway's HTTP front (Boost.Beast, C++20 coroutines): the native chat
/// API (/v1/chat, /v1/chat/stream, /v1/sessions...) and the OpenAI-compatible
/// one (/v1/chat/completions, /v1/models). It parses, authenticates, limits
/// and formats; turns and session queries go to a chat_backend.
///
/// Threads: `io_threads` I/O threads of its own (never a CAF scheduler
/// thread); each connection runs on a strand. Backend and authenticator
/// callbacks may come on any thread, also after stop(): they are then dropped.
#include <caf/expected.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <prometheus/registry.h>
#include <string>

#include "actors/gateway/authenticator.hpp"
#include "actors/gateway/chat_backend.hpp"

namespace troupe::gateway::http {

struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080; // 0: any free port (see gateway_server::port)
  size_t io_threads = 2;
  size_t max_header_bytes = 16 * 1024; // more: 431
  size_t max_body_bytes = 1024 * 1024; // more: 413 body_too_large
  size_t max_connections = 1024;       // more: 503 too_many_connections
  /// A whole request, first byte to last; a slower client is disconnected.
  std::chrono::milliseconds read_timeout{10'000};
  /// A keep-alive connection with no request in flight is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  /// A turn that has not finished by then is cancelled: 504 turn_timeout.
  std::chrono::milliseconds turn_timeout{300'000};
  /// Authentication and session/model queries: 504 backend_timeout after this.
  std::chrono::milliseconds call_timeout{10'000};
  /// A waiting stream gets a `: ping` comment this often.
  std::chrono::milliseconds heartbeat_interval{15'000};
  /// Requests per second per principal (tenant/user), token bucket of
  /// `rate_burst` (at least 1); 0: no limit.
  double rate_per_second = 0;
  double rate_burst = 0;
};

class gateway_server {
public:
  /// Binds and starts serving. Errors: invalid_options (a null
  /// authenticator or backend, zero threads or limits, a negative rate),
  /// listen_failed naming the address and the reason, metrics_failed,
  /// thread_failed. `metrics` may be null; it must outlive the server.
  [[nodiscard]] static caf::expected<std::unique_ptr<gateway_server>>
  start(server_options opts, authenticator_ptr auth, chat_backend_ptr backend,
        prometheus::Registry* metrics);

  ~gateway_server();
  gateway_server(const gateway_server&) = delete;
  gateway_server& operator=(const gateway_server&) = delete;

  /// The bound port.
  uint16_t port() const noexcept;

  /// Closes the listener and every connection, cancels running turns and
  /// joins the I/O threads. Idempotent.
  void stop();

  struct impl;

private:
  explicit gateway_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::gateway::http
