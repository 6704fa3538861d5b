#include "storage/turn_committer.hpp"

#include <caf/all.hpp>
#include <optional>

#include "common/logging.hpp"
#include "messages/message_types.hpp"
#include "storage/errc.hpp"
#include "storage/lazy_connection.hpp"

namespace troupe::storage::detail {
struct pending_commit {
  turn_commit turn;
  turn_committer::done_fn done;
};
} // namespace troupe::storage::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::storage::detail::pending_commit)

namespace troupe::storage {

namespace {

using detail::pending_commit;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

struct committer_state {
  std::optional<lazy_connection> conn;
  size_t max_batch = 64;
  std::vector<pending_commit> batch;
  bool flush_queued = false;
  static inline const char* name = "turn_committer";
};

using self_ptr = caf::stateful_actor<committer_state>*;

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.batch.empty())
    return;
  auto batch = std::move(st.batch);
  st.batch.clear();
  std::vector<turn_commit> turns;
  turns.reserve(batch.size());
  for (auto& p : batch)
    turns.push_back(std::move(p.turn));
  // A commit is safe to repeat (a turn id already stored writes nothing),
  // so a batch that met a session the server had just ended runs once more
  // on a fresh one instead of failing its turns.
  using all_results = std::vector<caf::expected<commit_result>>;
  auto outcome = st.conn->with_session([&](connection& c) -> caf::expected<all_results> {
    try {
      return commit_turns(c, turns);
    } catch (const std::exception& e) {
      return make_error(errc::query_failed, e.what());
    }
  });
  all_results results;
  if (outcome)
    results = std::move(*outcome);
  else
    results.assign(batch.size(), outcome.error());
  for (size_t i = 0; i < batch.size(); ++i)
    batch[i].done(i < results.size() ? std::move(results[i])
                                     : caf::expected<commit_result>{make_error(
                                         errc::query_failed, "no result for this turn")});
}

caf::behavior committer(self_ptr self, std::string url, std::chrono::seconds connect_timeout,
                        size_t max_batch) {
  self->state.conn.emplace(std::move(url), connect_timeout);
  self->state.max_batch = std::max<size_t>(max_batch, 1);
  return {
    [self](pending_commit& p) {
      auto& st = self->state;
      st.batch.push_back(std::move(p));
      if (st.batch.size() >= st.max_batch) {
        flush(self);
      } else if (!st.flush_queued) {
        // Behind every turn already in the mailbox: they join this batch.
        st.flush_queued = true;
        self->send(self, flush_atom::value);
      }
    },
    [self](flush_atom) { flush(self); },
    [self](stop_atom) {
      flush(self);
      self->quit();
    },
  };
}

} // namespace

turn_committer::turn_committer(caf::actor_system& sys, std::string url,
                               std::chrono::seconds connect_timeout, size_t workers,
                               size_t max_batch) {
  for (size_t i = 0; i < std::max<size_t>(workers, 1); ++i)
    workers_.push_back(sys.spawn<caf::detached>(committer, url, connect_timeout, max_batch));
}

turn_committer::~turn_committer() {
  stop();
}

void turn_committer::commit(turn_commit turn, done_fn done) const {
  if (workers_.empty()) {
    done(make_error(errc::unreachable, "the turn committer is stopped"));
    return;
  }
  auto i = std::hash<std::string>{}(turn.session_id) % workers_.size();
  caf::anon_send(workers_[i], pending_commit{std::move(turn), std::move(done)});
}

void turn_committer::stop() {
  for (auto& w : workers_)
    caf::anon_send(w, stop_atom::value);
  workers_.clear();
}

} // namespace troupe::storage
