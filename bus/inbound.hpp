#pragma once
/// The serving side of the bus: what a handler actor receives for each
/// request or message on a subject it serves, and how it answers.
///
/// A handler's behaviour includes `[=](inbound_atom, bus::inbound& in)`; it
/// answers with `in.reply->send(reply_envelope)`, which publishes straight
/// from the handler's thread through the thread-safe transport (no hop
/// through the bridge).
#include <atomic>
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "bus/envelope_check.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/errc.hpp"
#include "bus/transport.hpp"
#include "troupe/v1/envelope.pb.h"

namespace prometheus {
class Counter;
template <class T>
class Family;
class Registry;
} // namespace prometheus

namespace troupe::bus {

/// What one bridge counts, written from transport threads and the actors that
/// answer, read by the bridge for its status; mirrored into the Prometheus
/// counters troupe_bus_{published,received,rejected}_total when a registry
/// is given.
class traffic_counters {
public:
  explicit traffic_counters(prometheus::Registry* metrics = nullptr);

  void on_published() noexcept;
  void on_received() noexcept;
  void on_rejected(errc reason);

  uint64_t published() const noexcept { return published_.load(std::memory_order_relaxed); }
  uint64_t received() const noexcept { return received_.load(std::memory_order_relaxed); }
  uint64_t rejected() const noexcept { return rejected_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> rejected_{0};
  prometheus::Counter* published_total_ = nullptr;
  prometheus::Counter* received_total_ = nullptr;
  prometheus::Family<prometheus::Counter>* rejected_total_ = nullptr;
};

/// Answers one inbound envelope: any number of partial replies
/// (Envelope.more set), then at most one final reply. Every reply carries
/// correlation_id = the request's id and the request's signed principal, so
/// the requester can tell an answer from a forgery. Thread-safe: a streamed
/// answer may be sent from a thread of its own (a provider call).
class replier {
public:
  struct request_ref {
    std::string reply_subject; // empty: a one-way message nobody answers
    std::string request_id;
    int64_t deadline_unix_ms = 0;
    troupe::v1::SignedPrincipal principal; // echoed on every reply; may be empty
    size_t max_bytes = 0;                  // the largest reply sent; 0: no limit
  };

  replier(transport_ptr transport, request_ref request,
          std::shared_ptr<traffic_counters> counters = nullptr);

  /// True when the sender waits for an answer (the message had a reply subject).
  [[nodiscard]] bool expected() const noexcept { return !ref_.reply_subject.empty(); }
  [[nodiscard]] bool answered() const noexcept { return answered_.load(); }

  /// Publishes the final `reply`. Refused with errc::invalid_subject for a
  /// one-way message, errc::publish_failed when already answered,
  /// errc::deadline_expired when the request's deadline has passed (the
  /// requester gave up; nothing is sent), errc::oversize when the reply is
  /// larger than the limit (nothing is sent and the request is NOT marked
  /// answered: answer with a small error instead); else whatever the
  /// transport reports.
  [[nodiscard]] caf::error send(troupe::v1::Envelope reply);

  /// Publishes a partial reply (more follow); the same refusals as send.
  [[nodiscard]] caf::error send_partial(troupe::v1::Envelope reply);

private:
  caf::error publish(troupe::v1::Envelope& reply, bool final);

  transport_ptr transport_;
  request_ref ref_;
  std::shared_ptr<traffic_counters> counters_;
  std::atomic<bool> answered_{false};
};

/// One checked envelope handed to a handler actor. `reply` is never null;
/// `reply->expected()` says whether anyone waits for an answer.
struct inbound {
  troupe::v1::Envelope env;
  parsed_payload payload; // env's payload as the bus parsed it while checking; may be null
  /// The principal the envelope carried, verified by the checks; nullopt
  /// when it carried none.
  std::optional<troupe::v1::Principal> principal;
  std::string subject;    // what it arrived on: tells a wildcard server's targets apart
  std::string reply_subject;
  std::shared_ptr<replier> reply;
};

/// The payload of `in` as a `T`: the message the bus parsed while checking
/// it, shared rather than parsed again, or (for an inbound built without
/// one) parsed now with payload_as's errors.
template <class T>
[[nodiscard]] caf::expected<std::shared_ptr<const T>> payload_of(const inbound& in) {
  if (in.payload && in.payload->GetDescriptor() == T::descriptor())
    return std::shared_ptr<const T>{in.payload, static_cast<const T*>(in.payload.get())};
  auto parsed = payload_as<T>(in.env);
  if (!parsed)
    return std::move(parsed.error());
  return std::make_shared<const T>(std::move(*parsed));
}

/// How a served subject treats what arrives on it.
struct inbound_policy {
  size_t max_bytes = 1 << 20;
  bool require_principal = false;
  std::shared_ptr<const principal_keys> keys;
};

class dispatch;

/// The transport callback of a served subject: checks every message on the
/// transport's thread (decode_and_check); a rejection — or a payload type
/// the subject does not take — is counted, logged (at most a few lines per
/// second) and answered with a typed error reply when the message has a
/// reply subject; an accepted envelope goes to the actor `route` picks, as
/// the message it makes (bus/dispatch.hpp). No actor code runs on the
/// transport thread.
[[nodiscard]] message_handler make_inbound_handler(std::shared_ptr<const dispatch> route,
                                                   inbound_policy policy, transport_ptr transport,
                                                   std::shared_ptr<traffic_counters> counters);

/// Counts, logs (rate-limited) and, when the sender waits, answers a refused
/// message with a typed error reply; for the checks here and for replies a
/// request_client refuses (it answers no one: `answer` false).
void reject(const caf::error& err, const message& msg, transport& tr, traffic_counters& counters,
            bool answer = true);

} // namespace troupe::bus

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::bus::inbound)
