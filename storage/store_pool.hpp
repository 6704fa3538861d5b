#pragma once
/// A few detached workers, each the owner of one PostgreSQL session, that run
/// jobs for actors which must not block: a job is a function over a
/// connection, run on a worker's own thread; it sends its result back to
/// whoever asked (usually with caf::anon_send). Jobs with the same key run on
/// the same worker, in submission order (all of one session's writes, say),
/// while different keys spread over the workers.
///
/// A worker opens its session lazily and reopens it after it broke; a job
/// that finds no session gets the connect error instead of a connection.
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.hpp"

namespace troupe::storage {

/// Runs on a worker thread: `conn` is the worker's session, or the error
/// that kept it from having one.
using store_job = std::function<void(caf::expected<connection*> conn)>;

class store_pool {
public:
  store_pool(caf::actor_system& sys, std::string url, std::chrono::seconds connect_timeout,
             size_t workers);
  ~store_pool();
  store_pool(const store_pool&) = delete;
  store_pool& operator=(const store_pool&) = delete;

  /// Queues `job` on the worker for `key`. Never blocks.
  void run(std::string_view key, store_job job) const;

  /// Stops the workers after the jobs already queued.
  void stop();

private:
  std::vector<caf::actor> workers_;
};

using store_pool_ptr = std::shared_ptr<store_pool>;

} // namespace troupe::storage
