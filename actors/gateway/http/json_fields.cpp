#include "actors/gateway/http/json_fields.hpp"

namespace troupe::gateway::http {

json_fields::json_fields(const nlohmann::json& obj, std::string prefix)
    : obj_(obj), prefix_(std::move(prefix)) {}

const nlohmann::json* json_fields::find(std::string_view name) const {
  auto it = obj_.find(name);
  return it == obj_.end() || it->is_null() ? nullptr : &*it;
}

void json_fields::reject(std::string_view name, std::string message) {
  if (!error_)
    error_ = invalid_field(prefix_ + std::string{name}, std::move(message));
}

const nlohmann::json* json_fields::typed(std::string_view name, bool ok_type,
                                         std::string_view type) {
  if (!ok_type) {
    reject(name, "must be " + std::string{type});
    return nullptr;
  }
  return find(name);
}

std::optional<std::string> json_fields::string(std::string_view name, size_t max_bytes) {
  const auto* v = find(name);
  if (v == nullptr || !typed(name, v->is_string(), "a string"))
    return std::nullopt;
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    reject(name, "must be at most " + std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> json_fields::boolean(std::string_view name) {
  const auto* v = find(name);
  if (v == nullptr || !typed(name, v->is_boolean(), "true or false"))
    return std::nullopt;
  return v->get<bool>();
}

std::optional<double> json_fields::number(std::string_view name) {
  const auto* v = find(name);
  if (v == nullptr || !typed(name, v->is_number(), "a number"))
    return std::nullopt;
  return v->get<double>();
}

std::optional<int64_t> json_fields::integer(std::string_view name) {
  const auto* v = find(name);
  if (v == nullptr || !typed(name, v->is_number_integer(), "an integer"))
    return std::nullopt;
  return v->get<int64_t>();
}

const nlohmann::json* json_fields::array(std::string_view name) {
  const auto* v = find(name);
  return v == nullptr ? nullptr : typed(name, v->is_array(), "an array");
}

const nlohmann::json* json_fields::object(std::string_view name) {
  const auto* v = find(name);
  return v == nullptr ? nullptr : typed(name, v->is_object(), "an object");
}

} // namespace troupe::gateway::http
