#pragma once
/// An in-memory `transport` for unit tests of code built on the bus (the
/// bridge, request clients, services): routing like nats-server, without a
/// server, plus knobs to inject the failures a real link has.
///
/// Delivery is SYNCHRONOUS: `publish` calls every matching handler on the
/// publisher's own thread before it returns (no transport thread exists).
/// That keeps tests deterministic, with two consequences:
///  - a handler that publishes re-enters `publish`; this is supported (no lock
///    is held while handlers run), but a publish chain deeper than
///    `max_delivery_depth` fails with errc::publish_failed instead of
///    overflowing the stack (a handler answering its own subject, say);
///  - handlers must not wait for something that only another publish on the
///    same thread would produce.
///
/// Routing: `*` matches one token, `>` one or more trailing tokens (see
/// bus/subject_match.hpp). Each queue group receives a message once, at the
/// next member in round-robin order (the server picks at random; the fake is
/// deterministic so tests can count). Subjects are checked like the server
/// does: a bad one is errc::invalid_subject, never a crash.
///
/// Link states: `connected` delivers at once; `connecting`/`reconnecting`
/// accept publishes (logged) and hold them, in order, until `set_state` goes
/// back to `connected` — the real client's reconnect buffer; `closed` refuses
/// publishes and subscriptions with errc::not_connected and drops what was
/// held, like a closed connection.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bus/transport.hpp"

namespace troupe::bus {

class fake_transport final : public transport {
public:
  /// One accepted publish, as the publisher made it.
  struct record {
    std::string subject;
    std::string data;
    std::string reply;
  };

  static constexpr int max_delivery_depth = 64;

  fake_transport();
  ~fake_transport() override;
  fake_transport(const fake_transport&) = delete;
  fake_transport& operator=(const fake_transport&) = delete;

  // -- transport ------------------------------------------------------------

  [[nodiscard]] caf::error publish(std::string_view subject, std::string_view data,
                                   std::string_view reply = {}) override;
  /// errc::invalid_subject for a bad pattern or queue name, or an empty
  /// handler (the subscription request itself is malformed).
  [[nodiscard]] caf::expected<subscription_ptr>
  subscribe(const std::string& subject, const std::string& queue, message_handler handler) override;
  /// "_INBOX.<n>", unique within the process.
  std::string new_inbox() override;
  link_state state() const noexcept override;
  void on_state_change(state_handler handler) override;
  /// Succeeds at once when connected; errc::timeout while (re)connecting
  /// (there is no server to answer the PING); errc::not_connected when closed.
  [[nodiscard]] caf::error flush(std::chrono::milliseconds timeout) override;
  /// Closes (state handlers see `closed`); idempotent. Connected, nothing is
  /// in flight (delivery is synchronous). While (re)connecting there is no
  /// server to flush to: held publishes are dropped and errc::timeout says how
  /// many, as the real client's drain would time out.
  [[nodiscard]] caf::error drain(std::chrono::milliseconds timeout) override;

  // -- test controls ----------------------------------------------------------

  /// Changes the link state and calls every state handler with it, on the
  /// caller's thread, even when the state is unchanged (tests often want the
  /// callback). Going to `connected` first delivers the held publishes.
  void set_state(link_state s);

  /// The next `n` publishes fail with errc::publish_failed and are neither
  /// logged nor delivered; 0 clears the fault.
  void fail_publishes(int n);

  /// When on, a request (a publish with a reply subject) that no subscriber
  /// matches is answered with an empty message on its reply subject, as
  /// nats-server answers with its 503 "no responders" status.
  void emulate_no_responders(bool on);

  /// Every accepted publish so far, in order.
  [[nodiscard]] std::vector<record> published() const;
  /// Forgets the publish log (subscriptions and state stay).
  void clear_published();
  /// The number of live subscriptions.
  [[nodiscard]] size_t subscriptions() const;

private:
  struct shared_state;
  class handle;
  /// Subscription handles keep only a weak reference, so a handle outliving
  /// the fake (or the fake living on the stack) is safe.
  std::shared_ptr<shared_state> state_;
};

} // namespace troupe::bus
