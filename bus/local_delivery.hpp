#pragma once
/// A transport that hands a publish straight to a subscriber in this process
/// when that subscriber is the one meant to take it, and sends everything
/// else through `inner`: a call to a service with an instance on the same
/// node may skip the network hop, but never the checks (docs/ARCHITECTURE.md,
/// "Local delivery").
///
/// Taken locally:
///  - a queue-group subject this process serves (`troupe.<c>.svc.<kind>`):
///    one member takes each message and this process is one;
///  - a subject under one of `local_prefixes` that a subscription here
///    matches (the node's direct subjects, `troupe.<c>.node.<node>.`);
///  - a reply inbox made by this transport's new_inbox().
/// Plain subjects anyone may listen to (turn events, heartbeats) always go
/// through the server, and so does a publish made from inside a handler.
///
/// The subscriber's handler gets the same bytes it would get from the server
/// and runs the same checks; it runs on the publisher's thread. Each
/// subscription's handler is called under a lock of its own, so a handler
/// written for the server's one-thread-per-subscription delivery stays
/// correct when local and network deliveries meet.
#include <memory>
#include <string>
#include <vector>

#include "bus/transport.hpp"

namespace troupe::bus {

class local_delivery final : public transport {
public:
  local_delivery(transport_ptr inner, std::vector<std::string> local_prefixes);
  ~local_delivery() override;

  [[nodiscard]] caf::error publish(std::string_view subject, std::string_view data,
                                   std::string_view reply = {}) override;
  [[nodiscard]] caf::expected<subscription_ptr>
  subscribe(const std::string& subject, const std::string& queue, message_handler handler) override;
  std::string new_inbox() override;
  link_state state() const noexcept override;
  void on_state_change(state_handler handler) override;
  [[nodiscard]] caf::error flush(std::chrono::milliseconds timeout) override;
  [[nodiscard]] caf::error drain(std::chrono::milliseconds timeout) override;

  /// Publishes handed to a local subscriber so far.
  size_t delivered_locally() const noexcept;

  struct registry;

private:
  transport_ptr inner_;
  std::shared_ptr<registry> local_;
};

} // namespace troupe::bus
