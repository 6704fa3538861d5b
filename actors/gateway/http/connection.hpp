#pragma once
/// One client connection: its stream, read buffer and alarm. Owned by the
/// connection's coroutine (shared with the server's list of live
/// connections, weakly, and with a pending hang-up watch); every member is
/// touched only on the connection's strand.
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

  bool interrupted() const noexcept { return closing || client_gone; }

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
