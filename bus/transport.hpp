#pragma once
/// The seam between the bridge and the messaging system: `nats_transport`
/// (bus/nats_transport.hpp) in production and integration tests,
/// `fake_transport` (bus/fake_transport.hpp) in unit tests.
///
/// Thread model: every method may be called from any thread. Message handlers
/// and state callbacks run on the transport's own threads; they must not
/// block and must never run actor code — they hand messages to actors
/// (caf::anon_send) and return.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace troupe::bus {

enum class link_state : uint8_t { connecting, connected, reconnecting, closed };
std::string_view to_string(link_state s) noexcept;

/// One received message. The views stay valid as long as `owner` lives, so a
/// message can be moved into an actor's mailbox without copying its bytes.
struct message {
  std::string_view subject;
  std::string_view reply;
  std::string_view data;
  std::shared_ptr<const void> owner;
  /// Messages of the same subscription already waiting behind this one (a
  /// hint, 0 when unknown): a handler may hold work back while more is queued
  /// and hand it on as a batch, waking its consumer once instead of per message.
  size_t pending = 0;
};

using message_handler = std::function<void(message)>;
using state_handler = std::function<void(link_state)>;

/// Unsubscribes on destruction.
class subscription {
public:
  virtual ~subscription() = default;
};
using subscription_ptr = std::unique_ptr<subscription>;

class transport {
public:
  virtual ~transport() = default;

  /// Publishes `data` on `subject`; while reconnecting, publishes are
  /// buffered by the client (up to its reconnect buffer) rather than failing.
  [[nodiscard]] virtual caf::error publish(std::string_view subject, std::string_view data,
                                           std::string_view reply = {})
    = 0;

  /// Subscribes `handler` to `subject`; a non-empty `queue` joins that queue
  /// group, so each message goes to one member only.
  [[nodiscard]] virtual caf::expected<subscription_ptr>
  subscribe(const std::string& subject, const std::string& queue, message_handler handler) = 0;

  /// A fresh, unique inbox subject prefix for replies (no wildcard).
  virtual std::string new_inbox() = 0;

  virtual link_state state() const noexcept = 0;

  /// Called on every state change, from a transport thread.
  virtual void on_state_change(state_handler handler) = 0;

  /// Flushes buffered publishes and waits for the server's PONG.
  [[nodiscard]] virtual caf::error flush(std::chrono::milliseconds timeout) = 0;

  /// Stops receiving, delivers what is in flight, flushes, then closes.
  [[nodiscard]] virtual caf::error drain(std::chrono::milliseconds timeout) = 0;
};

using transport_ptr = std::shared_ptr<transport>;

} // namespace troupe::bus
