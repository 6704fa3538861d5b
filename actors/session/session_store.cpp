#include "actors/session/session_store.hpp"

namespace troupe::session {

namespace {

class pg_session_store final : public session_store {
public:
  explicit pg_session_store(storage::turn_committer_ptr committer)
    : committer_(std::move(committer)) {}

  void commit(storage::turn_commit turn, commit_done done) override {
    committer_->commit(std::move(turn), std::move(done));
  }

private:
  storage::turn_committer_ptr committer_;
};

} // namespace

session_store_ptr make_pg_session_store(storage::turn_committer_ptr committer) {
  return std::make_shared<pg_session_store>(std::move(committer));
}

} // namespace troupe::session
