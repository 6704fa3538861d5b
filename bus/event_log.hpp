#pragma once
/// Where turn events go: a log that says, per event, whether it was stored.
///
/// `append` never blocks. Events of one `group` (a turn) are stored in the
/// order they were appended, each exactly once: a retry after a lost
/// acknowledgement carries the same message id and the log drops the
/// duplicate. `done` is called exactly once per event, from any thread: with
/// no error once the event is stored, or with an error once it cannot be
/// stored before `deadline` (then every later event of the group fails too,
/// so a group never has a gap).
#include <caf/error.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace troupe::bus {

struct event_record {
  std::string group;   // events of one group are stored in append order
  std::string subject;
  std::string data;
  std::string msg_id;  // de-duplication key (Nats-Msg-Id); unique per event
  std::chrono::steady_clock::time_point deadline;
  std::function<void(caf::error)> done;
};

class event_log {
public:
  virtual ~event_log() = default;
  virtual void append(event_record ev) = 0;
};

using event_log_ptr = std::shared_ptr<event_log>;

} // namespace troupe::bus
