#include "common/json_body.hpp"

namespace troupe {

std::string to_json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_body(std::string_view code, std::string_view message) {
  return to_json_text(nlohmann::json{{"error", {{"code", code}, {"message", message}}}});
}

} // namespace troupe
