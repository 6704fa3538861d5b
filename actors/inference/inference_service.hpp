#pragma once
/// svc.inference on one node: GenerateRequest (a model id, "provider/model" or
/// role alias, resolved against the provider registry) and ListModels.
///
/// The built-in dev model answers on the service actor itself (it does no
/// I/O). A provider request runs on the service's provider_pool (libcurl's
/// multi interface on `inference.provider_threads` threads, no thread per
/// call), up to `max_in_flight` at once; beyond that the request fails at
/// once with backend_unavailable rather than queueing behind slow providers.
/// Streamed deltas go to the request's stream_subject as GenerateChunks; the
/// reply says how many were sent. The registry (providers, roles) is re-read
/// from PostgreSQL every `registry_refresh`.
#include <chrono>
#include <memory>

#include "actors/inference/keyring.hpp"
#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/principal.hpp"
#include "bus/subjects.hpp"
#include "bus/transport.hpp"
#include "config/node_config.hpp"
#include "storage/store_pool.hpp"

namespace troupe::inference {

struct inference_env {
  std::string node_id;
  bus::subjects subjects{"troupe"};
  bus::transport_ptr one_way; // chunks
  std::shared_ptr<const keyring> keys;
  storage::store_pool_ptr store;
  config::inference_settings settings;
  size_t max_in_flight = 64;
};

using inference_env_ptr = std::shared_ptr<const inference_env>;

/// A child spec for the inference role's supervisor.
supervision::child_spec inference_service_child(inference_env_ptr env, bus::bridge_actor bridge);

} // namespace troupe::inference
