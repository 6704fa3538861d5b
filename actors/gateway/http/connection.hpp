#pragma once
/// One client connection: its stream, read buffer and alarm. Owned by the
/// connection's coroutine (shared with the server's list of live
/// connections, weakly, and with a pending hang-up watch); every member is
/// touched only on the connection's strand.
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

#include "actors/gateway/http/beast.hpp"
#include "actors/gateway/http/mailbox.hpp"

namespace troupe::gateway::http {

struct connection : std::enable_shared_from_this<connection> {
  explicit connection(tcp::socket socket);

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::shared_ptr<alarm> wake;
  bool closing = false;     // stop() reached it
  bool client_gone = false; // the peer hung up while we waited for a backend
  unsigned watch_ = 0;      // the current hang-up watch; older completions are stale
  std::atomic<int64_t> deadline_ns{std::numeric_limits<int64_t>::max()}; // steady clock

  bool interrupted() const noexcept { return closing || client_gone; }

  /// The I/O operation about to start must be done by `deadline`: past it,
  /// the server's sweep cancels what is pending on the socket. One sweep per
  /// server instead of a timer per read and write: arming is a store, not a
  /// timer queue update (and a wake-up of the thread blocked in epoll).
  void arm(clock::time_point deadline) noexcept {
    deadline_ns.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
  }
  void arm_after(clock::duration d) noexcept { arm(clock::now() + d); }
  /// After the operation: nothing pending is timed (a hang-up watch is not).
  void disarm() noexcept {
    deadline_ns.store(std::numeric_limits<int64_t>::max(), std::memory_order_relaxed);
  }
  /// For the sweep, on any thread: armed and past the deadline at `now`.
  bool overdue(clock::time_point now) const noexcept {
    return deadline_ns.load(std::memory_order_relaxed) <= now.time_since_epoch().count();
  }
  /// On the strand: cancels the pending operations if still overdue.
  void expire(clock::time_point now);

  /// Notices the peer hanging up (EOF or reset) while no read is pending,
  /// i.e. while a turn runs: sets client_gone and rings the alarm. Readable
  /// data that is a pipelined request ends the watch without being consumed.
  void watch_for_hangup();
  /// Ends the watch before the next read. Only when no read or write is pending.
  void stop_watching();

  /// For stop(): marks it closing, closes the socket (aborting reads and
  /// writes) and wakes a wait.
  void shut();
};

} // namespace troupe::gateway::http
