#pragma once
/// A JetStream key-value bucket, for directories (which node serves what,
/// session ownership): get/put, create-if-absent, compare-and-set, and
/// watches that push changes to a handler.
///
/// Calls BLOCK on a server round trip: use them from a `caf::detached` actor
/// or a thread of your own. Watch handlers run on the watch's own thread.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "bus/jetstream.hpp"

namespace troupe::bus {

enum class kv_op : uint8_t { put, remove, purge };

struct kv_entry {
  std::string key;
  std::string value;
  /// The bucket-wide sequence of this write; what `update` compares against.
  uint64_t revision = 0;
  kv_op op = kv_op::put;
};

using kv_handler = std::function<void(const kv_entry&)>;

/// A running watch. Destroying it stops the thread (joined unless destroyed
/// from its own handler).
class kv_watch {
public:
  struct state;
  explicit kv_watch(std::shared_ptr<state> st);
  kv_watch(kv_watch&&) noexcept;
  kv_watch& operator=(kv_watch&&) noexcept;
  ~kv_watch();

  /// Stops delivering; idempotent. Returns after the handler finished its
  /// current call (unless called from the handler).
  void stop();

private:
  std::shared_ptr<state> st_;
};

class kv_bucket {
public:
  /// Opens bucket `name` ([A-Za-z0-9_-]+), creating it when missing with
  /// `ttl` (0: values never expire) and `history` (1..64 revisions kept per
  /// key). An existing bucket keeps its own settings.
  [[nodiscard]] static caf::expected<kv_bucket>
  open_or_create(jetstream& js, const std::string& name,
                 std::chrono::milliseconds ttl = std::chrono::milliseconds{0}, int history = 1);

  /// errc::kv_key_not_found when the key is absent or deleted.
  [[nodiscard]] caf::expected<kv_entry> get(const std::string& key);
  /// Writes unconditionally; returns the new revision.
  [[nodiscard]] caf::expected<uint64_t> put(const std::string& key, std::string_view value);
  /// Writes only if the key is absent (or deleted); errc::kv_revision_mismatch
  /// when it exists.
  [[nodiscard]] caf::expected<uint64_t> create(const std::string& key, std::string_view value);
  /// Compare-and-set: writes only if the key's revision is still
  /// `expected_revision`; errc::kv_revision_mismatch when someone else wrote
  /// first.
  [[nodiscard]] caf::expected<uint64_t> update(const std::string& key, std::string_view value,
                                               uint64_t expected_revision);
  /// Deletes the key (watchers see a `remove` entry).
  [[nodiscard]] caf::error remove(const std::string& key);

  /// Calls `handler` with the current value of every key matching
  /// `key_pattern` (`*`/`>` wildcards), then with each later put or delete.
  /// `initial_done`, when given, is called once the current values have been
  /// delivered (right away for an empty bucket).
  [[nodiscard]] caf::expected<kv_watch> watch(const std::string& key_pattern, kv_handler handler,
                                              std::function<void()> initial_done = {});

  const std::string& name() const noexcept { return name_; }

  struct state;
  kv_bucket(std::shared_ptr<state> st, std::string name);

private:
  std::shared_ptr<state> st_;
  std::string name_;
};

} // namespace troupe::bus
