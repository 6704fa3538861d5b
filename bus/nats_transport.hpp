#pragma once
/// The production `transport`: one NATS connection (nats.c) with reconnect,
/// a reconnect buffer, drain on shutdown, and the link state exported as
/// metrics and as the node's /ready input (`state()`).
///
/// Threads: message handlers run on the subscription's delivery thread owned
/// by nats.c (one per subscription, so a slow handler delays only its own
/// subject); state handlers run on the connection's event thread. Neither may
/// block (see bus/transport.hpp).
#include <caf/expected.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bus/transport.hpp"

namespace prometheus {
class Registry;
}

namespace troupe::bus {

struct nats_options {
  /// Tried in turn for the first connection; the client also learns cluster
  /// peers from the server for reconnects.
  std::vector<std::string> urls;
  /// Shown by the server (connz) and used as the `connection` metrics label.
  std::string name;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait{250};
  /// Reconnect attempts per server after a lost connection; negative means
  /// forever. The FIRST connection is never retried: a node that cannot reach
  /// NATS at start should fail loudly rather than look alive.
  int max_reconnect = -1;
  /// Publishes made while reconnecting are kept up to this many bytes and
  /// sent on reconnect; beyond it publish fails with errc::publish_failed.
  size_t reconnect_buffer_bytes = 8 << 20;
  /// Sends each publish immediately instead of batching: ~4x lower
  /// request/reply latency for ~5x lower bulk throughput (bench/bus_rtt).
  bool send_asap = true;
  /// What one subscription may hold while its handler catches up; past
  /// either limit the client drops messages, counted as
  /// troupe_nats_slow_consumer_total and logged. nats.c's defaults (64k
  /// messages) drop under a burst a loaded two-core node can take.
  size_t pending_msgs_limit = 1'000'000;
  size_t pending_bytes_limit = size_t{256} << 20;
};

class nats_transport final : public transport {
public:
  /// The connection and its callbacks' state; opaque outside nats_transport.cpp.
  struct impl;

  /// Closes the connection if `drain` was not called. State handlers are
  /// dropped first: they are not told about this close.
  ~nats_transport() override;
  nats_transport(const nats_transport&) = delete;
  nats_transport& operator=(const nats_transport&) = delete;

  /// errc::invalid_subject for a wildcard or malformed subject or reply,
  /// errc::not_connected once closed, errc::publish_failed when the client
  /// refuses (reconnect buffer full, payload above the server's max_payload).
  [[nodiscard]] caf::error publish(std::string_view subject, std::string_view data,
                                   std::string_view reply = {}) override;
  /// errc::invalid_subject for a bad pattern, queue name or an empty handler.
  /// Handlers must not throw; an exception is caught and logged. Destroying
  /// the subscription returns once its handler cannot run any more (it waits
  /// for a call in progress, so whatever the handler captured may be freed
  /// right after), except when destroyed from inside its own handler.
  [[nodiscard]] caf::expected<subscription_ptr>
  subscribe(const std::string& subject, const std::string& queue, message_handler handler) override;
  /// "_INBOX.<nuid>", unique per call.
  std::string new_inbox() override;
  link_state state() const noexcept override;
  void on_state_change(state_handler handler) override;
  /// errc::timeout when no PONG came in time (also while reconnecting).
  [[nodiscard]] caf::error flush(std::chrono::milliseconds timeout) override;
  /// Unsubscribes everything, lets in-flight messages reach their handlers,
  /// flushes publishes and closes, waiting up to `timeout` (plus a little for
  /// the close itself). Safe to call twice. While reconnecting there is
  /// nothing to drain to: the connection is closed and errc::not_connected
  /// says buffered publishes were lost.
  [[nodiscard]] caf::error drain(std::chrono::milliseconds timeout) override;

  /// The URL of the server currently connected to; empty when not connected.
  std::string connected_url() const;

  /// For bus/jetstream.cpp: the nats.c connection as an opaque pointer that
  /// keeps the connection object alive (not open: it may be closed).
  std::shared_ptr<void> native_handle() const noexcept;

private:
  friend caf::expected<std::shared_ptr<nats_transport>> connect_nats(const nats_options&,
                                                                     prometheus::Registry*);
  explicit nats_transport(std::shared_ptr<impl> state);

  std::shared_ptr<impl> impl_;
};

/// Connects to the first reachable URL of `opts.urls`; errc::not_connected
/// naming the URLs when none answers. With `metrics`, registers (labelled
/// connection=<opts.name>) the gauge troupe_nats_connected and the counters
/// troupe_nats_disconnects_total and troupe_nats_reconnects_total; the
/// registry must outlive the transport.
[[nodiscard]] caf::expected<std::shared_ptr<nats_transport>>
connect_nats(const nats_options& opts, prometheus::Registry* metrics = nullptr);

} // namespace troupe::bus
