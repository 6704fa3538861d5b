#pragma once
/// A model that answers in-process, without I/O: the built-in development
/// model (dev_model). Providers over the network are asynchronous instead
/// and run on the provider_pool (openai_call); both report content deltas
/// through a delta_fn.
///
/// Threads: generate() returns once the answer is whole; an implementation
/// may be called from several threads at once.
#include <atomic>
#include <caf/expected.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/v1/inference.pb.h"

namespace troupe::inference {

/// Receives each piece of assistant text as it is generated, in order.
using delta_fn = std::function<void(std::string_view delta)>;

class model_backend {
public:
  virtual ~model_backend() = default;

  /// Generates the next assistant message of `req.messages` with `model`
  /// (the provider's own model name: aliases are resolved before this).
  /// Streams when `on_delta` is set, and then calls it for every content
  /// delta before returning; the result holds the whole message either way.
  /// `cancel` (may be null) becomes true to abort: errc::cancelled.
  [[nodiscard]] virtual caf::expected<troupe::v1::GenerateResult>
  generate(const troupe::v1::GenerateRequest& req, const std::string& model,
           const delta_fn& on_delta, const std::atomic<bool>* cancel) = 0;

  /// The models this backend serves.
  [[nodiscard]] virtual caf::expected<std::vector<troupe::v1::ModelInfo>> list_models() = 0;
};

using model_backend_ptr = std::shared_ptr<model_backend>;

} // namespace troupe::inference
