#pragma once
/// The built-in development model "troupe-dev": a stand-in for an LLM so a
/// node answers chat with no provider configured. It is not a language
/// model and understands nothing; it only makes the chat path observable:
///
/// - it answers "troupe-dev heard: <last user text> (turn N)", N being the
///   number of user messages so far, so lost history shows;
/// - a last user message "/tool NAME {json args}" makes it call tool NAME
///   with those arguments (passed on unchecked, as a model's would be);
/// - a last message that is a tool result makes it quote that result.
///
/// Deterministic (the same conversation gives the same answer and tool-call
/// id), instant, streamed in word-sized deltas. Usage counts words.
/// Stateless: any number of threads may call one instance.
#include <string_view>

#include "actors/inference/model_backend.hpp"

namespace troupe::inference {

class dev_model final : public model_backend {
public:
  static constexpr std::string_view model_id = "troupe-dev";

  /// Errors: invalid_request for a request without messages, cancelled.
  caf::expected<troupe::v1::GenerateResult> generate(const troupe::v1::GenerateRequest& req,
                                                     const std::string& model,
                                                     const delta_fn& on_delta,
                                                     const std::atomic<bool>* cancel) override;

  /// Just "troupe-dev".
  caf::expected<std::vector<troupe::v1::ModelInfo>> list_models() override;
};

} // namespace troupe::inference
