#pragma once
/// What every session actor of a node shares: its bus connections, keys,
/// stores, event log, the session directory and the session settings.
/// Built once by the node; session actors hold it by shared_ptr.
#include <chrono>
#include <memory>
#include <string>

#include "actors/session/session_metrics.hpp"
#include "actors/session/session_store.hpp"
#include "actors/session/turn_machine.hpp"
#include "bus/event_log.hpp"
#include "bus/kv.hpp"
#include "bus/principal.hpp"
#include "bus/subjects.hpp"
#include "bus/transport.hpp"
#include "common/worker_pool.hpp"
#include "config/node_config.hpp"
#include "storage/store_pool.hpp"

namespace prometheus {
class Registry;
} // namespace prometheus

namespace troupe::session {

struct session_env {
  std::string node_id;
  bus::subjects subjects{"troupe"};
  bus::transport_ptr transport; // requests and replies (send_asap)
  bus::transport_ptr one_way;   // cancels to inference (batched)
  std::shared_ptr<const bus::principal_keys> keys;
  storage::store_pool_ptr store;                      // activation, queries
  session_store_ptr turn_store;                       // turns, committed in groups
  bus::event_log_ptr events;                          // turn events, acknowledged
  std::shared_ptr<bus::kv_bucket> directory;          // session id -> owning node
  std::shared_ptr<worker_pool> directory_workers;     // the directory's blocking round trips
  config::session_settings settings;
  /// The stages this node's turns run, from the roles the cluster has.
  session::pipeline pipeline;
  std::chrono::milliseconds inference_timeout{120'000};
  std::chrono::milliseconds request_timeout{5'000};
  /// How long a turn's events may still be stored after its deadline (its
  /// TURN_FAILED, say): the turn itself never waits past its deadline.
  std::chrono::milliseconds event_grace{30'000};
  /// The longest an event is retried after it was appended: inside the
  /// stream's duplicate window, so a retry whose first attempt was stored
  /// is still recognised as a duplicate.
  std::chrono::milliseconds event_horizon{115'000};
  size_t max_envelope_bytes = 1 << 20;
  prometheus::Registry* registry = nullptr;
  std::shared_ptr<session_metrics> metrics = std::make_shared<session_metrics>(nullptr);
};

using session_env_ptr = std::shared_ptr<const session_env>;

} // namespace troupe::session
