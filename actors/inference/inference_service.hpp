#pragma once
/// svc.inference on one node: GenerateRequest (a model id, "provider/model" or
/// role alias, resolved against the provider registry) and ListModels.
///
/// The built-in dev model answers on the service actor itself (it does no
/// I/O). A provider request runs on the service's provider_pool (libcurl's
/// multi interface on `inference.provider_threads` threads, no thread per
/// call), up to `max_in_flight` at once; beyond that the request fails at
/// once with backend_unavailable rather than queueing behind slow providers.
/// A request with `stream` set gets its deltas as GenerateChunk partial
/// replies (Envelope.more) on its own reply subject, then the result: one
/// ordered path, each reply echoing the request's principal. A result too
/// large for an envelope is answered with a small error (result_too_large)
/// rather than dropped. The registry (providers, roles) is re-read from
/// PostgreSQL every `registry_refresh`.
///
/// Typed: the service takes bus::in<Ping>, in<GenerateRequest>,
/// in<CancelTurn> and in<ListModels>; anything else is refused at the edge.
#include <chrono>
#include <memory>

#include "actors/inference/keyring.hpp"
#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/dispatch.hpp"
#include "troupe/v1/chat.pb.h"
#include "troupe/v1/inference.pb.h"
#include "troupe/v1/node.pb.h"
#include "bus/principal.hpp"
#include "bus/subjects.hpp"
#include "bus/transport.hpp"
#include "config/node_config.hpp"
#include "storage/store_pool.hpp"

namespace troupe::inference {

struct inference_env {
  std::string node_id;
  bus::subjects subjects{"troupe"};
  std::shared_ptr<const keyring> keys;
  storage::store_pool_ptr store;
  config::inference_settings settings;
  size_t max_in_flight = 64;
};

using inference_env_ptr = std::shared_ptr<const inference_env>;

using inference_actor = caf::typed_actor<caf::reacts_to<bus::in<troupe::v1::Ping>>,
                                         caf::reacts_to<bus::in<troupe::v1::GenerateRequest>>,
                                         caf::reacts_to<bus::in<troupe::v1::CancelTurn>>,
                                         caf::reacts_to<bus::in<troupe::v1::ListModels>>>;

/// A child spec for the inference role's supervisor.
supervision::child_spec inference_service_child(inference_env_ptr env, bus::bridge_actor bridge);

} // namespace troupe::inference
