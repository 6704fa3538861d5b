#include "storage/store_pool.hpp"

#include <caf/all.hpp>
#include <optional>

#include "common/logging.hpp"
#include "messages/message_types.hpp"
#include "storage/errc.hpp"
#include "storage/lazy_connection.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::storage::store_job)

namespace troupe::storage {

namespace {

struct worker_state {
  std::optional<lazy_connection> conn;
  static inline const char* name = "store_worker";
};

caf::behavior store_worker(caf::stateful_actor<worker_state>* self, std::string url,
                           std::chrono::seconds connect_timeout) {
  self->state.conn.emplace(std::move(url), connect_timeout);
  return {
    [self](store_job& job) {
      auto conn = self->state.conn->get();
      if (!conn) {
        job(conn.error());
        return;
      }
      try {
        job(*conn);
      } catch (const std::exception& e) {
        // A job owns its errors; one that escapes must not take the worker down.
        log::get("storage")->error("store job threw: {}", e.what());
      }
    },
    [self](stop_atom) { self->quit(); }, // in order: queued jobs run first
  };
}

} // namespace

store_pool::store_pool(caf::actor_system& sys, std::string url,
                       std::chrono::seconds connect_timeout, size_t workers) {
  for (size_t i = 0; i < std::max<size_t>(workers, 1); ++i)
    workers_.push_back(sys.spawn<caf::detached>(store_worker, url, connect_timeout));
}

store_pool::~store_pool() {
  stop();
}

void store_pool::run(std::string_view key, store_job job) const {
  if (workers_.empty()) {
    job(make_error(errc::unreachable, "the store pool is stopped"));
    return;
  }
  auto i = std::hash<std::string_view>{}(key) % workers_.size();
  caf::anon_send(workers_[i], std::move(job));
}

void store_pool::stop() {
  for (auto& w : workers_)
    caf::anon_send(w, stop_atom::value);
  workers_.clear();
}

} // namespace troupe::storage
