#include "common/worker_pool.hpp"

#include <caf/all.hpp>

#include "common/logging.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::worker_pool::job)

namespace troupe {

namespace {

using stop_atom = caf::atom_constant<caf::atom("stop")>;

caf::behavior worker(caf::event_based_actor* self) {
  return {
    [](worker_pool::job& j) {
      try {
        j();
      } catch (const std::exception& e) {
        // A job owns its errors; one that escapes must not take the worker down.
        log::get("worker")->error("worker job threw: {}", e.what());
      }
    },
    [self](stop_atom) { self->quit(); }, // in order: queued jobs run first
  };
}

} // namespace

worker_pool::worker_pool(caf::actor_system& sys, size_t workers) {
  for (size_t i = 0; i < std::max<size_t>(workers, 1); ++i)
    workers_.push_back(sys.spawn<caf::detached>(worker));
}

worker_pool::~worker_pool() {
  stop();
}

void worker_pool::run(std::string_view key, job j) const {
  if (workers_.empty())
    return;
  auto i = std::hash<std::string_view>{}(key) % workers_.size();
  caf::anon_send(workers_[i], std::move(j));
}

void worker_pool::stop() {
  for (auto& w : workers_)
    caf::anon_send(w, stop_atom::value);
  workers_.clear();
}

} // namespace troupe
