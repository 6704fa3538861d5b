#pragma once
/// A refusal as the client sees it, and its body in either of the two
/// shapes the gateway speaks: native `{"error":{"code","message"}}` or
/// OpenAI's `{"error":{"message","type","param","code"}}` (so OpenAI SDKs
/// raise their typed errors). `code` is our stable code in both.
#include <string>
#include <string_view>

#include "actors/gateway/chat_backend.hpp"

namespace troupe::gateway::http {

enum class error_style { native, openai };

struct http_error {
  // A constructor, not an aggregate: GCC 12 frees an aggregate temporary
  // twice when it is an argument in a co_await expression (see beast.hpp).
  http_error(unsigned s, std::string c, std::string m, std::string p = {})
      : status(s), code(std::move(c)), message(std::move(m)), param(std::move(p)) {}

  unsigned status = 500;
  std::string code;
  std::string message;
  std::string param; // the request field at fault; empty: none
  unsigned retry_after_s = 0; // > 0: answered with Retry-After
};

/// 400 invalid_request naming `field`.
http_error invalid_field(std::string field, std::string message);

/// A backend's or authenticator's refusal; a status outside 400-599 becomes 502.
http_error from_api(const api_error& e);

/// The body of `e` in `style`.
std::string error_text(const http_error& e, error_style style);

/// OpenAI's error type for a status: authentication_error (401),
/// permission_error (403), rate_limit_error (429), server_error (5xx),
/// else invalid_request_error (as OpenAI answers 404 model_not_found).
std::string_view openai_error_type(unsigned status) noexcept;

} // namespace troupe::gateway::http
