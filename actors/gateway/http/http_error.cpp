#include "actors/gateway/http/http_error.hpp"

#include "common/json_body.hpp"

namespace troupe::gateway::http {

http_error invalid_field(std::string field, std::string message) {
  return {400, "invalid_request", "`" + field + "`: " + message, std::move(field)};
}

http_error from_api(const api_error& e) {
  if (e.status >= 400 && e.status <= 599) {
    http_error out{e.status, e.code, e.message};
    out.retry_after_s = e.retry_after_s;
    return out;
  }
  return {502, e.code.empty() ? "backend_error" : e.code,
          "the backend answered status " + std::to_string(e.status) + ": " + e.message};
}

std::string error_text(const http_error& e, error_style style) {
  if (style == error_style::native)
    return error_body(e.code, e.message);
  nlohmann::json param = e.param.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.param);
  return to_json_text({{"error",
                        {{"message", e.message},
                         {"type", openai_error_type(e.status)},
                         {"param", param},
                         {"code", e.code}}}});
}

std::string_view openai_error_type(unsigned status) noexcept {
  switch (status) {
  case 401:
    return "authentication_error";
  case 403:
    return "permission_error";
  case 429:
    return "rate_limit_error";
  default:
    return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

} // namespace troupe::gateway::http
