#pragma once
/// JetStream on top of a `nats_transport`: streams, publish with
/// acknowledgement (retried without duplicates), durable pull consumers.
///
/// Every call here BLOCKS on a server round trip (or a fetch wait): call it
/// from a `caf::detached` actor or a thread of your own, never from a CAF
/// scheduler thread. Objects are cheap handles sharing the connection; they
/// stay safe after the transport is closed (calls then fail with
/// errc::not_connected or errc::jetstream_error).
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/nats_transport.hpp"

namespace troupe::bus {

enum class storage_kind : uint8_t { file, memory };

struct stream_config {
  std::string name; ///< [A-Za-z0-9_-]+
  std::vector<std::string> subjects;
  /// How long messages are kept; 0 keeps them until other limits apply.
  std::chrono::milliseconds max_age{0};
  storage_kind storage = storage_kind::file;
  int replicas = 1;
  /// How long the server remembers message ids for de-duplication; 0 is the
  /// server's default (2 minutes). Retries must fall inside it.
  std::chrono::milliseconds duplicate_window{0};
  /// The stream's size limit; past it the oldest messages are dropped. -1
  /// means no limit.
  int64_t max_bytes = -1;
};

struct publish_ack {
  std::string stream;
  uint64_t sequence = 0;
  /// The server already had a message with this id: nothing was stored.
  bool duplicate = false;
};

/// One message fetched from a pull consumer. Copies share the message; the
/// views stay valid while any copy lives.
class js_message {
public:
  std::string_view subject() const noexcept { return subject_; }
  std::string_view data() const noexcept { return data_; }
  /// The stream sequence: the message's position in the stream.
  uint64_t sequence() const noexcept { return sequence_; }
  /// 1 on first delivery; more after a nak or an expired ack wait.
  uint64_t delivered() const noexcept { return delivered_; }
  /// The value of header `key` (e.g. "Nats-Msg-Id"), if present.
  std::optional<std::string> header(const std::string& key) const;
  std::map<std::string, std::string> headers() const;

  /// Acknowledges processing; the durable consumer will not deliver it again.
  /// Sent asynchronously (ordered with everything else on the connection).
  [[nodiscard]] caf::error ack() const;
  /// Like ack, but waits for the server to confirm it.
  [[nodiscard]] caf::error ack_sync(std::chrono::milliseconds timeout) const;
  /// Asks for redelivery now.
  [[nodiscard]] caf::error nak() const;
  /// Never deliver this message again (poison message).
  [[nodiscard]] caf::error term() const;

  struct state;
  explicit js_message(std::shared_ptr<state> st);

private:
  std::shared_ptr<state> st_;
  std::string_view subject_;
  std::string_view data_;
  uint64_t sequence_ = 0;
  uint64_t delivered_ = 0;
};

struct consumer_config {
  /// Redelivery happens when a message is not acked within this; 0 is the
  /// server's default (30 s).
  std::chrono::milliseconds ack_wait{0};
  /// Deliveries per message before the server gives up; -1 means no limit.
  int64_t max_deliver = -1;
};

/// A durable pull consumer. Destroying it keeps the durable on the server,
/// so a consumer re-opened with the same name continues after the last ack.
class pull_consumer {
public:
  /// Waits up to `timeout` for up to `batch` messages; an empty vector when
  /// none came (a timeout is not an error).
  [[nodiscard]] caf::expected<std::vector<js_message>> fetch(int batch,
                                                             std::chrono::milliseconds timeout);
  const std::string& stream() const noexcept { return stream_; }
  const std::string& durable() const noexcept { return durable_; }

  struct state;
  pull_consumer(std::shared_ptr<state> st, std::string stream, std::string durable);

private:
  std::shared_ptr<state> st_;
  std::string stream_;
  std::string durable_;
};

class jetstream {
public:
  /// A JetStream context on `transport`'s connection; `api_timeout` bounds
  /// each management call (stream/consumer creation, KV operations).
  [[nodiscard]] static caf::expected<jetstream>
  open(const nats_transport& transport,
       std::chrono::milliseconds api_timeout = std::chrono::milliseconds{5000});

  /// Creates the stream, or updates it to `cfg` when it exists; calling it
  /// again with the same config changes nothing.
  [[nodiscard]] caf::error ensure_stream(const stream_config& cfg);
  [[nodiscard]] caf::error delete_stream(const std::string& name);

  /// Publishes and waits for the stream's acknowledgement, up to `timeout`
  /// per attempt. A timed-out attempt is retried (up to `attempts` in all)
  /// with the same Nats-Msg-Id, so a message stored by an attempt whose ack
  /// was lost is not stored twice (the ack then says `duplicate`). An empty
  /// `msg_id` gets a fresh unique one. errc::timeout when every attempt timed
  /// out; errc::jetstream_error when no stream takes the subject or the
  /// server refuses.
  [[nodiscard]] caf::expected<publish_ack>
  publish(const std::string& subject, std::string_view data, const std::string& msg_id = {},
          std::chrono::milliseconds timeout = std::chrono::milliseconds{2000}, int attempts = 3);

  /// Creates or re-opens the durable pull consumer `durable` on `stream`,
  /// receiving the stream's messages on `filter_subject` (wildcards allowed).
  [[nodiscard]] caf::expected<bus::pull_consumer> pull_consumer(const std::string& stream,
                                                                const std::string& durable,
                                                                const std::string& filter_subject,
                                                                const consumer_config& cfg = {});
  /// Removes a durable consumer from the server (its position is lost).
  [[nodiscard]] caf::error delete_consumer(const std::string& stream, const std::string& durable);

  struct state;
  explicit jetstream(std::shared_ptr<state> st);
  /// For bus/kv.cpp: the nats.c JetStream context as an opaque pointer that
  /// keeps it (and the connection) alive.
  std::shared_ptr<void> native_handle() const noexcept;

private:
  std::shared_ptr<state> st_;
};

} // namespace troupe::bus
