#pragma once
/// Stand-ins for a session actor's durable dependencies, for tests that run
/// the real actor without PostgreSQL or JetStream: a session_store and an
/// event_log that record what they were given and fail when told to.
#include <caf/error.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "actors/session/session_store.hpp"
#include "bus/event_log.hpp"

namespace troupe::test {

/// Commits succeed (the session's info echoed back), or fail with `failure`.
class fake_session_store final : public session::session_store {
public:
  void fail_with(caf::error err) {
    std::lock_guard guard{mtx_};
    failure_ = std::move(err);
  }
  void succeed() {
    std::lock_guard guard{mtx_};
    failure_.reset();
  }
  std::vector<storage::turn_commit> commits() const {
    std::lock_guard guard{mtx_};
    return commits_;
  }

  void commit(storage::turn_commit turn, commit_done done) override {
    std::optional<caf::error> failure;
    {
      std::lock_guard guard{mtx_};
      failure = failure_;
      if (!failure)
        commits_.push_back(turn);
    }
    if (failure)
      return done(*failure);
    storage::commit_result r;
    r.session.set_id(turn.session_id);
    done(std::move(r));
  }

private:
  mutable std::mutex mtx_;
  std::optional<caf::error> failure_;
  std::vector<storage::turn_commit> commits_;
};

/// Every event is kept (subject and bytes) and acknowledged at once, or
/// failed with `failure`.
class memory_event_log final : public bus::event_log {
public:
  struct stored {
    std::string group;
    std::string subject;
    std::string data;
  };

  void fail_with(caf::error err) {
    std::lock_guard guard{mtx_};
    failure_ = std::move(err);
  }
  std::vector<stored> events() const {
    std::lock_guard guard{mtx_};
    return events_;
  }

  void append(bus::event_record ev) override {
    std::optional<caf::error> failure;
    {
      std::lock_guard guard{mtx_};
      failure = failure_;
      if (!failure)
        events_.push_back({ev.group, ev.subject, ev.data});
    }
    ev.done(failure ? *failure : caf::error{});
  }

private:
  mutable std::mutex mtx_;
  std::optional<caf::error> failure_;
  std::vector<stored> events_;
};

} // namespace troupe::test
