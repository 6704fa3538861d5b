#pragma once
/// The `event_log` on JetStream: each event is published asynchronously with
/// header Nats-Msg-Id = msg_id, and `done` reports the stream's
/// acknowledgement.
///
/// `append` only queues (a mutex held for a few map operations); one thread of
/// the log's own publishes, retries after backoff and enforces deadlines, and
/// acknowledgements arrive on nats.c's thread. `done` runs on either of those
/// threads and must not release the last reference to the log.
///
/// What an outcome means:
/// - success: the stream holds the event (an ack, or a duplicate ack because
///   an earlier attempt with the same id was stored);
/// - error: the event was not known to be stored by its deadline
///   (errc::timeout: attempts went unanswered or the deadline passed while it
///   waited; errc::not_connected: the connection was down or closed;
///   errc::jetstream_error: no stream answered or the server refused;
///   errc::invalid_subject / publish_failed: it can never be published). The
///   last attempt may still have been stored with its ack lost; nothing later
///   of its group is, so the stream holds a gap-free prefix of every group.
///
/// A group that failed stays failed for `failed_group_memory`: later appends
/// to it fail at once (same code), since storing them would leave a gap.
///
/// Retries reuse the message id, so the stream's duplicate window must be
/// longer than any event's time to deadline, or a late retry is stored twice.
///
/// Destroying the log stops its thread, stops acknowledgements from reaching
/// it, and fails every event still pending with errc::not_connected (some may
/// have been stored); when the destructor returns no `done` is running or
/// will run.
#include <caf/expected.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "bus/event_log.hpp"
#include "bus/nats_transport.hpp"

namespace troupe::bus {

struct jetstream_event_log_options {
  /// How long one attempt waits for the stream's acknowledgement (less when
  /// the event's deadline is nearer).
  std::chrono::milliseconds ack_timeout{2000};
  /// Pause after a failed attempt, doubling up to retry_max.
  std::chrono::milliseconds retry_initial{50};
  std::chrono::milliseconds retry_max{1000};
  /// Events being published at once, over all groups; the rest wait in the
  /// log's queue (bounded only by their deadlines).
  std::size_t max_in_flight = 1024;
  /// How long a failed group's name is remembered so that its later events
  /// fail too.
  std::chrono::milliseconds failed_group_memory{std::chrono::minutes(10)};
};

/// Counters since the log was made; each read is a consistent-enough sum of
/// independent atomics, for tests and metrics.
struct event_log_stats {
  std::uint64_t published = 0;  ///< attempts handed to the client library
  std::uint64_t acked = 0;      ///< events reported stored (duplicates included)
  std::uint64_t duplicates = 0; ///< of those, acks that said "duplicate"
  std::uint64_t retries = 0;    ///< failed attempts followed by another
  std::uint64_t failed = 0;     ///< events reported with an error
};

class jetstream_event_log final : public event_log {
public:
  struct impl;
  explicit jetstream_event_log(std::unique_ptr<impl> p);
  ~jetstream_event_log() override;
  jetstream_event_log(const jetstream_event_log&) = delete;
  jetstream_event_log& operator=(const jetstream_event_log&) = delete;

  void append(event_record ev) override;
  event_log_stats stats() const noexcept;

private:
  std::unique_ptr<impl> impl_;
};

/// A log publishing on `transport`'s connection through a JetStream context
/// of its own (it keeps the connection object alive). errc::jetstream_error
/// for options out of range (zero timeouts or in-flight limit, retry_max
/// below retry_initial), errc::not_connected when the context cannot be made.
/// The result is a jetstream_event_log (for stats()).
[[nodiscard]] caf::expected<event_log_ptr>
make_jetstream_event_log(const nats_transport& transport, jetstream_event_log_options opts = {});

} // namespace troupe::bus
