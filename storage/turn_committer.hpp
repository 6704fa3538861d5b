#pragma once
/// Group commit for session actors: a few detached workers, each the owner
/// of one PostgreSQL session, gather the turns that arrive while their
/// previous commit runs and commit them together with one commit_turns call
/// (storage/session_store.hpp). Under load, one round trip and one
/// transaction then carry many sessions' turns; a lone turn is committed at
/// once. Turns of one session go to the same worker, in order.
///
/// A turn's outcome comes back through its callback, on the worker's thread;
/// the callback must not block (it sends the result to an actor).
#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/session_store.hpp"

namespace troupe::storage {

class turn_committer {
public:
  using done_fn = std::function<void(caf::expected<commit_result>)>;

  /// `max_batch`: the most turns one call carries.
  turn_committer(caf::actor_system& sys, std::string url, std::chrono::seconds connect_timeout,
                 size_t workers, size_t max_batch = 64);
  ~turn_committer();
  turn_committer(const turn_committer&) = delete;
  turn_committer& operator=(const turn_committer&) = delete;

  /// Queues `turn`; never blocks.
  void commit(turn_commit turn, done_fn done) const;

  /// Stops the workers after the turns already queued are committed.
  void stop();

private:
  std::vector<caf::actor> workers_;
};

using turn_committer_ptr = std::shared_ptr<turn_committer>;

} // namespace troupe::storage
