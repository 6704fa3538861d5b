#pragma once
/// JSON text for HTTP bodies, shared by the admin server and the gateway: a
/// body is built from client-sent text (a request target, a field) or an
/// exception message, so bytes that are not UTF-8 are replaced, never thrown on.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace troupe {

/// `j` as compact JSON text; invalid UTF-8 becomes U+FFFD.
std::string to_json_text(const nlohmann::json& j);

/// {"error":{"code":...,"message":...}}
std::string error_body(std::string_view code, std::string_view message);

} // namespace troupe
