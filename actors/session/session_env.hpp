#pragma once
/// What every session actor of a node shares: its bus connections, keys,
/// store workers, the session directory and the session settings. Built once
/// by the node; session actors hold it by shared_ptr.
#include <chrono>
#include <memory>
#include <string>

#include "actors/session/session_metrics.hpp"
#include "bus/kv.hpp"
#include "bus/principal.hpp"
#include "bus/subjects.hpp"
#include "bus/transport.hpp"
#include "config/node_config.hpp"
#include "storage/store_pool.hpp"
#include "storage/turn_committer.hpp"
#include "troupe/v1/envelope.pb.h"

namespace troupe::session {

struct session_env {
  std::string node_id;
  bus::subjects subjects{"troupe"};
  bus::transport_ptr transport; // requests and replies (send_asap)
  bus::transport_ptr one_way;   // events and stream chunks (batched)
  std::shared_ptr<const bus::principal_keys> keys;
  storage::store_pool_ptr store;           // activation, queries
  storage::turn_committer_ptr committer;   // turns, committed in groups
  std::shared_ptr<bus::kv_bucket> directory; // session id -> owning node
  config::session_settings settings;
  std::chrono::milliseconds inference_timeout{120'000};
  size_t max_envelope_bytes = 1 << 20;
  std::shared_ptr<session_metrics> metrics = std::make_shared<session_metrics>(nullptr);
};

using session_env_ptr = std::shared_ptr<const session_env>;

/// The principal an accepted envelope carries; the bridge has verified its
/// signature when one is present. nullopt when there is none.
std::optional<troupe::v1::Principal> principal_of(const troupe::v1::Envelope& env);

/// A local error as the troupe.v1.Error a session answers with: the stable
/// name of its module's code (bus, storage, inference) and its text.
troupe::v1::Error error_from(const caf::error& err);

/// An error of the session component itself (`session_not_found`, `cancelled`, ...).
troupe::v1::Error session_error(std::string code, std::string message);

} // namespace troupe::session
