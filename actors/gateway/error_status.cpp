#include "actors/gateway/error_status.hpp"

#include <string_view>
#include <unordered_map>

#include "bus/envelope_codec.hpp"

namespace troupe::gateway {

namespace {

struct key_hash {
  size_t operator()(const std::pair<std::string_view, std::string_view>& k) const noexcept {
    return std::hash<std::string_view>{}(k.first) * 31 + std::hash<std::string_view>{}(k.second);
  }
};

using table = std::unordered_map<std::pair<std::string_view, std::string_view>, unsigned, key_hash>;

const table& statuses() {
  static const table t{
    {{"session", "session_not_found"}, 404},   {{"session", "session_moved"}, 503},
    {{"session", "session_busy"}, 429},        {{"session", "invalid_request"}, 400},
    {{"session", "cancelled"}, 499},           {{"session", "deadline_expired"}, 504},
    {{"session", "persist_failed"}, 500},      {{"session", "events_unavailable"}, 503},
    {{"session", "result_too_large"}, 502},    {{"session", "step_limit_reached"}, 502},
    {{"session", "guardrail_blocked"}, 400},   {{"session", "stage_unavailable"}, 503},
    {{"session", "principal_missing"}, 401},   {{"session", "session_stopped"}, 503},
    {{"session", "turn_in_progress"}, 409},    {{"session", "turn_id_reused"}, 422},
    {{"inference", "model_unknown"}, 404},     {{"inference", "role_not_configured"}, 400},
    {{"inference", "invalid_request"}, 400},   {{"inference", "provider_key_missing"}, 503},
    {{"inference", "backend_unavailable"}, 503}, {{"inference", "provider_error"}, 502},
    {{"inference", "malformed_response"}, 502}, {{"inference", "redirect_refused"}, 502},
    {{"inference", "timeout"}, 504},           {{"inference", "cancelled"}, 499},
    {{"inference", "result_too_large"}, 502},
    {{"bus", "no_responders"}, 503},           {{"bus", "not_connected"}, 503},
    {{"bus", "timeout"}, 504},                 {{"bus", "deadline_expired"}, 504},
    {{"bus", "oversize"}, 413},                {{"bus", "principal_missing"}, 401},
    {{"bus", "principal_invalid"}, 401},       {{"storage", "unreachable"}, 503},
  };
  return t;
}

} // namespace

unsigned status_of(const troupe::v1::Error& e) noexcept {
  auto it = statuses().find({e.component(), e.code()});
  return it == statuses().end() ? 500 : it->second;
}

api_error api_error_of(const troupe::v1::Error& e) {
  api_error out{status_of(e), e.code(), e.message()};
  // One queued turn ahead is typically done within a second.
  if (out.status == 429 || out.code == "turn_in_progress")
    out.retry_after_s = 1;
  return out;
}

api_error api_error_of(const caf::error& err) {
  return api_error_of(bus::error_payload(err));
}

} // namespace troupe::gateway
