#pragma once
/// Distinct types for the identifiers that travel on a turn's path, so a
/// session id cannot be passed where a turn id belongs: each is a string
/// underneath (what the wire and the database hold), but the compiler keeps
/// them apart. Construction is explicit; `str()` gives the string back at
/// the edges (protobuf fields, subjects, SQL parameters, logs).
#include <caf/allowed_unsafe_message_type.hpp>
#include <compare>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace troupe {

template <class Tag>
class named_id {
public:
  named_id() = default;
  explicit named_id(std::string value) : value_(std::move(value)) {}
  explicit named_id(std::string_view value) : value_(value) {}
  explicit named_id(const char* value) : value_(value) {}

  [[nodiscard]] const std::string& str() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

  friend bool operator==(const named_id&, const named_id&) = default;
  friend auto operator<=>(const named_id&, const named_id&) = default;

private:
  std::string value_;
};

using tenant_id = named_id<struct tenant_tag>;
using user_id = named_id<struct user_tag>;
using session_id = named_id<struct session_tag>;
using turn_id = named_id<struct turn_tag>;
using node_id = named_id<struct node_tag>;

} // namespace troupe

// Ids travel in actor messages inside one node (never serialized by CAF).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::tenant_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::user_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::session_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::turn_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::node_id)

template <class Tag>
struct std::hash<troupe::named_id<Tag>> {
  size_t operator()(const troupe::named_id<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};

template <class Tag>
struct fmt::formatter<troupe::named_id<Tag>> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const troupe::named_id<Tag>& id, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(id.str(), ctx);
  }
};
