#include "actors/gateway/identity/api_key_cache.hpp"

#include <algorithm>

namespace troupe::gateway::identity {

api_key_cache::api_key_cache(std::chrono::milliseconds ttl, std::chrono::milliseconds negative_ttl,
                             size_t capacity)
    : ttl_(ttl), negative_ttl_(negative_ttl), capacity_(std::max<size_t>(capacity, 1)) {}

std::optional<known_api_key> api_key_cache::find(std::string_view key_id, clock::time_point now) {
  std::lock_guard guard{mtx_};
  auto it = slots_.find(std::string{key_id});
  if (it == slots_.end())
    return std::nullopt;
  if (now >= it->second.expires) {
    slots_.erase(it);
    return std::nullopt;
  }
  return it->second.key;
}

void api_key_cache::put(std::string_view key_id, known_api_key key, clock::time_point now) {
  auto expires = now + (key ? ttl_ : negative_ttl_);
  std::lock_guard guard{mtx_};
  auto it = slots_.find(std::string{key_id});
  if (it != slots_.end()) {
    it->second = slot{std::move(key), expires};
    return;
  }
  make_room(now);
  slots_.emplace(std::string{key_id}, slot{std::move(key), expires});
}

size_t api_key_cache::size() const {
  std::lock_guard guard{mtx_};
  return slots_.size();
}

void api_key_cache::make_room(clock::time_point now) {
  if (slots_.size() < capacity_)
    return;
  std::erase_if(slots_, [now](const auto& kv) { return now >= kv.second.expires; });
  if (slots_.size() >= capacity_)
    slots_.erase(slots_.begin());
}

} // namespace troupe::gateway::identity
