#pragma once
/// The one place a served subject's payload_type becomes a typed message.
/// A handler actor with a typed interface takes `bus::in<T>` for each payload
/// type T it serves:
///
///   using my_actor = caf::typed_actor<caf::reacts_to<bus::in<troupe::v1::Ping>>, ...>;
///   bridge.serve(subject, queue, bus::dispatch::to<troupe::v1::Ping, ...>(handle), ...)
///
/// and gets each checked envelope with its payload already parsed (once, on
/// the transport thread, by the checks); an envelope of a type the subject
/// does not serve is refused at the edge (unknown_type, counted and answered
/// with a typed error), so no actor compares type names.
///
/// A routed dispatch delivers each envelope itself (a node's session
/// subjects: to the live session actor, or to the host that activates it),
/// so a message reaches its actor without a forwarding mailbox, and the
/// choice and the send happen together (under whatever lock the deliverer
/// takes).
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "bus/inbound.hpp"
#include "messages/message_types.hpp"

namespace troupe::bus {

/// One checked envelope whose payload is a `T`.
template <class T>
struct in {
  inbound raw;

  /// The payload, parsed once by the checks (never null for a dispatched `in`).
  [[nodiscard]] const T& msg() const noexcept { return static_cast<const T&>(*raw.payload); }
  /// The payload shared, for keeping beyond the handler without a copy.
  [[nodiscard]] std::shared_ptr<const T> shared() const {
    return std::shared_ptr<const T>{raw.payload, &msg()};
  }
  [[nodiscard]] const troupe::v1::Envelope& env() const noexcept { return raw.env; }
  [[nodiscard]] replier& reply() const noexcept { return *raw.reply; }
  [[nodiscard]] const std::optional<troupe::v1::Principal>& principal() const noexcept {
    return raw.principal;
  }
};

class dispatch {
public:
  /// Sends one envelope's message (made for its type) to whichever actor
  /// serves the subject it came on.
  using deliverer = std::function<void(std::string_view subject, caf::message msg)>;

  /// Where route() says a message goes: `target`, or nowhere when the
  /// dispatch delivered it itself (target invalid).
  struct routed_message {
    caf::actor target;
    caf::message msg;
  };

  /// Every envelope of the types `Ts` goes to `target` as bus::in<T>.
  template <class... Ts, class Handle>
  [[nodiscard]] static std::shared_ptr<const dispatch> to(const Handle& target) {
    auto d = std::make_shared<dispatch>(caf::actor_cast<caf::actor>(target), deliverer{});
    (d->template add<Ts>(), ...);
    return d;
  }

  /// The same, delivered by `deliver`; `owner` is the actor whose end stops
  /// the service.
  template <class... Ts, class Handle>
  [[nodiscard]] static std::shared_ptr<const dispatch> routed(const Handle& owner,
                                                              deliverer deliver) {
    auto d = std::make_shared<dispatch>(caf::actor_cast<caf::actor>(owner), std::move(deliver));
    (d->template add<Ts>(), ...);
    return d;
  }

  /// Every envelope, whatever its type, as (inbound_atom, inbound): for
  /// handlers that answer anything (control plane, placeholders).
  template <class Handle>
  [[nodiscard]] static std::shared_ptr<const dispatch> untyped(const Handle& target) {
    auto d = std::make_shared<dispatch>(caf::actor_cast<caf::actor>(target), deliverer{});
    d->untyped_ = true;
    return d;
  }

  dispatch(caf::actor owner, deliverer deliver)
    : owner_(std::move(owner)), deliver_(std::move(deliver)) {}

  [[nodiscard]] const caf::actor& owner() const noexcept { return owner_; }

  /// Where the message for `in` goes (or that it went), or nullopt when this
  /// subject does not take its payload type.
  [[nodiscard]] std::optional<routed_message> route(inbound&& in) const {
    if (untyped_)
      return routed_message{owner_, caf::make_message(inbound_atom::value, std::move(in))};
    if (!in.payload)
      return std::nullopt;
    auto it = wrap_.find(in.payload->GetDescriptor());
    if (it == wrap_.end())
      return std::nullopt;
    if (!deliver_)
      return routed_message{owner_, it->second(std::move(in))};
    auto subject = in.subject; // the receiver reads it too (which session)
    auto msg = it->second(std::move(in));
    deliver_(subject, std::move(msg));
    return routed_message{};
  }

private:
  template <class T>
  void add() {
    wrap_.emplace(T::descriptor(),
                  [](inbound&& in) { return caf::make_message(bus::in<T>{std::move(in)}); });
  }

  caf::actor owner_;
  deliverer deliver_;
  bool untyped_ = false;
  std::unordered_map<const google::protobuf::Descriptor*, caf::message (*)(inbound&&)> wrap_;
};

using dispatch_ptr = std::shared_ptr<const dispatch>;

} // namespace troupe::bus

namespace caf {
template <class T>
struct allowed_unsafe_message_type<troupe::bus::in<T>> : std::true_type {};
} // namespace caf

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bus::dispatch_ptr)
