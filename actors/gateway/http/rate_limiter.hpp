#pragma once
/// Token buckets per principal (tenant/user), shared by all I/O threads.
/// Buckets that have refilled are forgotten once the table grows, so a
/// stream of distinct principals cannot grow it without bound.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace troupe::gateway::http {

class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  /// `per_second` 0: never limits. `burst` below 1 counts as 1.
  rate_limiter(double per_second, double burst);

  /// Takes a token from `key`'s bucket; when it is empty, how long until it
  /// holds one again.
  std::optional<std::chrono::milliseconds> take(const std::string& key, clock::time_point now);

private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };

  double refilled(const bucket& b, clock::time_point now) const;
  void forget_full(clock::time_point now);

  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
  size_t prune_at_ = 4096;
};

} // namespace troupe::gateway::http
