#pragma once
/// What a session actor needs from durable storage, as an interface: the
/// PostgreSQL implementation (pg_session_store) for nodes, a fake that
/// injects failures for tests of the persistence paths. Every call returns
/// at once; its outcome comes back through the callback, on whatever thread
/// the store uses (callbacks only send to an actor).
#include <caf/expected.hpp>
#include <functional>
#include <memory>

#include "storage/session_store.hpp"
#include "storage/store_pool.hpp"
#include "storage/turn_committer.hpp"

namespace troupe::session {

class session_store {
public:
  using commit_done = std::function<void(caf::expected<storage::commit_result>)>;

  virtual ~session_store() = default;

  /// Appends one turn's messages, all or nothing; a turn id committed before
  /// writes nothing (commit_result::already_committed).
  virtual void commit(storage::turn_commit turn, commit_done done) = 0;
};

using session_store_ptr = std::shared_ptr<session_store>;

/// Turns committed in groups by `committer` (storage/turn_committer.hpp).
[[nodiscard]] session_store_ptr make_pg_session_store(storage::turn_committer_ptr committer);

} // namespace troupe::session
