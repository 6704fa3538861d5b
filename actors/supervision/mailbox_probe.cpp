#include "actors/supervision/mailbox_probe.hpp"

#include <caf/actor_cast.hpp>
#include <caf/scheduled_actor.hpp>

namespace troupe::supervision {

size_t approximate_mailbox_size(const caf::actor& hdl) noexcept {
  if (!hdl)
    return 0;
  auto* base = caf::actor_cast<caf::abstract_actor*>(hdl);
  auto* sched = dynamic_cast<caf::scheduled_actor*>(base);
  if (sched == nullptr)
    return 0;
  auto& mailbox = sched->mailbox();
  if (mailbox.closed())
    return 0;
  // Only plain integer reads of the owner's queue counters: no fetch, no
  // traversal, so a concurrently running owner is never disturbed.
  const auto& queues = mailbox.queue().queues();
  return std::get<caf::scheduled_actor::urgent_queue_index>(queues).total_task_size()
         + std::get<caf::scheduled_actor::normal_queue_index>(queues).total_task_size();
}

} // namespace troupe::supervision
