#include "actors/gateway/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::gateway::http {

rate_limiter::rate_limiter(double per_second, double burst)
    : rate_(per_second), burst_(std::max(burst, 1.0)) {}

double rate_limiter::refilled(const bucket& b, clock::time_point now) const {
  std::chrono::duration<double> elapsed = now - b.at;
  return std::min(burst_, b.tokens + std::max(elapsed.count(), 0.0) * rate_);
}

void rate_limiter::forget_full(clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& kv) { return refilled(kv.second, now) >= burst_; });
  prune_at_ = std::max<size_t>(4096, buckets_.size() * 2);
}

std::optional<std::chrono::milliseconds> rate_limiter::take(const std::string& key,
                                                            clock::time_point now) {
  if (rate_ <= 0)
    return std::nullopt;
  std::lock_guard lock{mutex_};
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= prune_at_)
      forget_full(now);
    it = buckets_.emplace(key, bucket{burst_, now}).first;
  }
  auto& b = it->second;
  b.tokens = refilled(b, now);
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  auto wait = std::ceil((1 - b.tokens) / rate_ * 1000.0);
  return std::chrono::milliseconds{static_cast<int64_t>(wait)};
}

} // namespace troupe::gateway::http
