#pragma once
/// Reads how many messages wait for an actor, from outside that actor.
///
/// CAF 0.17 has no thread-safe mailbox counter: `mailbox().size()` first moves
/// the lock-free inbox into the owner's private queue, which only the owning
/// thread may do (calling it from a supervisor could corrupt a running
/// child's queue). So we read only the counters of the queue the child has
/// already pulled its messages into (ordinary and urgent), never touching the
/// inbox. The result is a snapshot that may be stale by a few messages, and
/// it misses messages that arrived since the child last ran; a child stuck in
/// a long handler therefore shows its backlog only from its next run on. It is
/// meant for the console's "is this actor falling behind" column, not for
/// decisions.
#include <caf/actor.hpp>
#include <cstddef>

namespace troupe::supervision {

/// Approximate number of queued messages; 0 for an invalid handle, a
/// terminated actor, or an actor that is not event-based (blocking actors).
/// Keep `hdl` alive while calling (a strong handle does that).
[[nodiscard]] size_t approximate_mailbox_size(const caf::actor& hdl) noexcept;

} // namespace troupe::supervision
