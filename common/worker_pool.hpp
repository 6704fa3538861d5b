#pragma once
/// A few detached workers for blocking calls that must stay off CAF's
/// scheduler threads (JetStream KV round trips, say). Jobs with the same key
/// run on the same worker, in submission order; different keys spread over
/// the workers. A job sends its outcome back itself (caf::anon_send).
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <functional>
#include <string_view>
#include <vector>

namespace troupe {

class worker_pool {
public:
  using job = std::function<void()>;

  worker_pool(caf::actor_system& sys, size_t workers);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `j` on the worker for `key`; never blocks. After stop(), `j` is
  /// dropped (its owner is going away too).
  void run(std::string_view key, job j) const;

  /// Stops the workers after the jobs already queued.
  void stop();

private:
  std::vector<caf::actor> workers_;
};

} // namespace troupe
