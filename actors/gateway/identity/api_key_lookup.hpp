#pragma once
/// Reads API key rows from PostgreSQL on a thread of its own, so that no
/// caller's thread (an HTTP I/O thread) ever blocks on the database.
///
/// The thread owns one PostgreSQL session (storage/lazy_connection.hpp):
/// opened on the first read, reopened when it breaks, a read on a session
/// found stale made once more on a fresh one. After a failed connect it
/// answers every read at once with that failure for `retry_after`, so an
/// outage costs callers a fast 503 rather than a queue of connect timeouts.
/// Concurrent reads of one key id share a single query. At most
/// `max_waiting` replies wait; beyond that `fetch` refuses at once.
///
/// Lifecycle: the thread starts in the constructor and stops in the
/// destructor, which answers every waiting reply with errc::unreachable.
/// The destructor may run on the lookup thread itself (a reply dropping the
/// last owner): the thread then finishes on its own.
#include <caf/expected.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "storage/api_key_store.hpp"

namespace troupe::gateway::identity {

class api_key_lookup {
public:
  struct options {
    std::string database_url;
    std::chrono::seconds connect_timeout{5};
    size_t max_waiting = 1024;
    std::chrono::milliseconds retry_after{1000};
  };

  using fetched = caf::expected<std::optional<storage::api_key_record>>;
  /// Runs on the lookup thread; must not block for long (it delays the next read).
  using reply = std::function<void(const fetched&)>;

  explicit api_key_lookup(options opts);
  ~api_key_lookup();
  api_key_lookup(const api_key_lookup&) = delete;
  api_key_lookup& operator=(const api_key_lookup&) = delete;

  /// Queues a read of `key_id`; `r` runs exactly once, on the lookup thread.
  /// False when the queue is full or stopping: then `r` is dropped unrun.
  [[nodiscard]] bool fetch(std::string key_id, reply r);

  /// Queues recording that `key_id` was just used (last_used_at); reads go
  /// first, and a full queue drops it: it is bookkeeping, not identity.
  void touch(std::string key_id);

private:
  struct state;
  std::shared_ptr<state> state_;
};

} // namespace troupe::gateway::identity
