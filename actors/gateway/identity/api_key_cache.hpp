#pragma once
/// What this node recently read about API keys, so that most requests need
/// no PostgreSQL round trip. An entry lives `ttl` (a key revoked in the store
/// is refused here within that time); an entry saying "no such key" lives
/// `negative_ttl`, long enough to absorb a burst of retries with a bad key,
/// short enough that a key created a moment ago is found soon.
///
/// Thread safety: every member may be called from any thread.
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/api_key_store.hpp"

namespace troupe::gateway::identity {

/// A row as read from the store; null when the store has no such key.
using known_api_key = std::shared_ptr<const storage::api_key_record>;

class api_key_cache {
public:
  using clock = std::chrono::steady_clock;

  /// At most `capacity` entries (at least 1): when full, expired entries go
  /// first, then an arbitrary one.
  api_key_cache(std::chrono::milliseconds ttl, std::chrono::milliseconds negative_ttl,
                size_t capacity);

  /// The entry of `key_id` if one is fresh at `now`; nullopt when the store
  /// must be asked.
  [[nodiscard]] std::optional<known_api_key> find(std::string_view key_id, clock::time_point now);

  /// Remembers what the store said about `key_id` at `now`.
  void put(std::string_view key_id, known_api_key key, clock::time_point now);

  [[nodiscard]] size_t size() const;

private:
  struct slot {
    known_api_key key;
    clock::time_point expires;
  };
  void make_room(clock::time_point now);

  std::chrono::milliseconds ttl_;
  std::chrono::milliseconds negative_ttl_;
  size_t capacity_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, slot> slots_;
};

} // namespace troupe::gateway::identity
