#pragma once
/// Delivers replies to the actors waiting for them with one wildcard
/// subscription `<inbox>.>` per transport (one per node connection), instead
/// of a subscription per request. A request's reply subject is
/// `<inbox>.<token>`; the transport callback only parses the token, looks up
/// the waiter under a mutex and `caf::anon_send`s it
/// `(reply_atom, token, message)` — the message still owns the transport's
/// buffer, so the reply bytes are never copied and no actor code runs on the
/// transport's thread.
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "bus/transport.hpp"

namespace prometheus {
class Registry;
} // namespace prometheus

// A received transport message travels inside local CAF messages only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bus::message)

namespace troupe::bus {

class reply_router {
public:
  /// The router of `transport`, subscribed on first use and shared by every
  /// caller with the same transport for as long as one of them holds it.
  /// Dropped replies are counted in troupe_bus_late_replies_total on
  /// `metrics` when one is given to the call that creates the router (it
  /// must outlive the router).
  [[nodiscard]] static caf::expected<std::shared_ptr<reply_router>>
  of(const transport_ptr& transport, prometheus::Registry* metrics = nullptr);

  ~reply_router();
  reply_router(const reply_router&) = delete;
  reply_router& operator=(const reply_router&) = delete;

  /// Registers `waiter` for the replies on the returned token, until
  /// `remove` (the client decides which reply ends a request: a streamed
  /// answer has several, and a forged one must not end it).
  [[nodiscard]] uint64_t add(caf::actor waiter);
  void remove(uint64_t token) noexcept;

  /// Where the reply for `token` must be published.
  [[nodiscard]] std::string reply_subject(uint64_t token) const;

  /// Tokens registered and not yet answered.
  [[nodiscard]] size_t waiting() const;

  /// Replies that found no waiter: late (after a timeout), duplicated or
  /// forged. They are dropped.
  [[nodiscard]] uint64_t dropped() const noexcept;

private:
  struct table;
  reply_router(transport_ptr transport, std::shared_ptr<table> t, subscription_ptr sub);

  transport_ptr transport_;
  std::shared_ptr<table> table_;
  subscription_ptr sub_;
};

} // namespace troupe::bus
