#pragma once
/// Reads the fields of a request body with their types checked: absent or
/// null is "not given", another type is the first error, naming the field.
/// Unknown fields are never looked at, so they are ignored.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "actors/gateway/http/http_error.hpp"

namespace troupe::gateway::http {

class json_fields {
public:
  /// `prefix` names the object in errors, e.g. "stream_options.".
  explicit json_fields(const nlohmann::json& obj, std::string prefix = {});

  std::optional<std::string> string(std::string_view name, size_t max_bytes = SIZE_MAX);
  std::optional<bool> boolean(std::string_view name);
  std::optional<double> number(std::string_view name);
  std::optional<int64_t> integer(std::string_view name);
  /// The raw value when it is an array / an object.
  const nlohmann::json* array(std::string_view name);
  const nlohmann::json* object(std::string_view name);

  /// Records a problem with `name` unless one is recorded already.
  void reject(std::string_view name, std::string message);

  /// The first problem, if any.
  const std::optional<http_error>& error() const noexcept { return error_; }

private:
  const nlohmann::json* find(std::string_view name) const;
  const nlohmann::json* typed(std::string_view name, bool ok_type, std::string_view type);

  const nlohmann::json& obj_;
  std::string prefix_;
  std::optional<http_error> error_;
};

} // namespace troupe::gateway::http
