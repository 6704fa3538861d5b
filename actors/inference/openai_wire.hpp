#pragma once
/// The JSON of the OpenAI Chat Completions API, apart from the HTTP that
/// carries it: the request body, a whole answer, the chunks of a streamed
/// one, error bodies and the model list. Pure functions, no I/O.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "actors/inference/model_backend.hpp"
#include "troupe/v1/inference.pb.h"

namespace troupe::inference::openai {

/// The body of POST /chat/completions. errc::invalid_request for a request
/// no provider could take: no messages, an unknown role, a tool without a
/// name or whose parameters_json is not a JSON object.
[[nodiscard]] caf::expected<std::string> request_body(const troupe::v1::GenerateRequest& req,
                                                      const std::string& model, bool stream);

/// A non-streamed answer; errc::malformed_response when it is not one.
[[nodiscard]] caf::expected<troupe::v1::GenerateResult> parse_completion(std::string_view body);

/// The model list of GET /models; errc::malformed_response when it is not one.
[[nodiscard]] caf::expected<std::vector<troupe::v1::ModelInfo>>
parse_model_list(std::string_view body, const std::string& provider);

/// The provider's explanation in an error body ({"error":{"message",...}}),
/// or a printable excerpt of a body that is not one.
std::string error_message(std::string_view body);

/// Builds one answer from the `data:` payloads of a streamed completion:
/// content deltas appended (and passed on), tool-call fragments joined by
/// their index, the finish reason and the usage of the final chunk.
class stream_assembler {
public:
  /// One event's data; "[DONE]" ends the stream and later data is ignored.
  /// errc::malformed_response for data that is not a chunk, errc::
  /// provider_error for a chunk that carries an error.
  [[nodiscard]] caf::error add(std::string_view data, const delta_fn& on_delta);

  /// True after "[DONE]" or a finish reason: the answer is whole.
  bool complete() const noexcept { return done_ || !result_.finish_reason().empty(); }

  /// The answer so far; call once, at the end.
  troupe::v1::GenerateResult take();

private:
  troupe::v1::GenerateResult result_;
  std::map<uint64_t, troupe::v1::ToolCall> calls_; // by the chunk's tool-call index
  bool done_ = false;
};

} // namespace troupe::inference::openai
