#include "config/detail/assign.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <type_traits>

#include "config/detail/checks.hpp"
#include "config/problem.hpp"

namespace troupe::config::detail {

namespace {

template <class T> struct is_duration : std::false_type {};
template <class Rep, class Period>
struct is_duration<std::chrono::duration<Rep, Period>> : std::true_type {};

std::string_view item_type_name(const raw_item& item) {
  switch (item.value.index()) {
  case 0:
    return "a string";
  case 1:
    return "an integer";
  default:
    return "a boolean";
  }
}

class checker {
public:
  checker(const key_spec& key, const raw_value& value, load_state& state)
      : key_(key), value_(value), state_(state), name_(qualified_name(key)) {}

  void operator()(accessor<std::string> field) {
    auto text = scalar_string();
    if (!text)
      return;
    if (text->empty() && key_.empty_means_default) {
      state_.origins[&key_] = value_.at;
      return;
    }
    if (key_.rule == value_rule::key_file || key_.rule == value_rule::readable_file
        || key_.rule == value_rule::path)
      *text = resolve(*text);
    if (auto bad = rule_issue(*text)) {
      add(*bad, value_.items.front().at);
      return;
    }
    set(field, std::move(*text));
  }

  void operator()(accessor<std::vector<std::string>> field) {
    auto items = string_list();
    if (!items)
      return;
    bool ok = true;
    for (std::size_t i = 0; i < items->size(); ++i)
      if (auto bad = rule_issue((*items)[i])) {
        add(*bad, value_.items[i].at);
        ok = false;
      }
    if (ok)
      set(field, std::move(*items));
  }

  void operator()(accessor<std::vector<role>> field) {
    auto items = string_list();
    if (!items)
      return;
    std::vector<role> roles;
    bool ok = true;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const auto& text = (*items)[i];
      auto r = role_from_string(text);
      if (!r) {
        state_.problems.add(codes::unknown_role,
                            "unknown role " + printable(text) + " in " + name_
                                + " (roles: " + role_list() + ")",
                            value_.items[i].at);
        ok = false;
      } else if (std::find(roles.begin(), roles.end(), *r) != roles.end()) {
        state_.problems.add(codes::duplicate_role,
                            "role " + printable(text) + " is listed twice in " + name_,
                            value_.items[i].at);
        ok = false;
      } else {
        roles.push_back(*r);
      }
    }
    if (ok)
      set(field, std::move(roles));
  }

  void operator()(accessor<bool> field) {
    if (const auto* item = scalar())
      if (const auto* b = std::get_if<bool>(&item->value)) {
        set(field, *b);
        return;
      }
    wrong_type();
  }

  void operator()(accessor<troupe::log::format> field) {
    auto text = scalar_string();
    if (!text)
      return;
    if (*text == "text")
      set(field, troupe::log::format::text);
    else if (*text == "json")
      set(field, troupe::log::format::json);
    else
      state_.problems.add(codes::invalid_log_setting,
                          name_ + " " + printable(*text) + " is not a format (text, json)",
                          value_.items.front().at);
  }

  template <class T> void operator()(accessor<T> field) {
    const auto* item = scalar();
    const auto* n = item ? std::get_if<std::int64_t>(&item->value) : nullptr;
    if (!n) {
      wrong_type();
      return;
    }
    bool no_limit = key_.rule == value_rule::no_limit && *n == -1;
    if (!no_limit && (*n < key_.min || *n > key_.max)) {
      state_.problems.add(codes::out_of_range,
                          name_ + " = " + std::to_string(*n) + " is out of range ["
                              + std::to_string(key_.min) + ", " + std::to_string(key_.max) + "]"
                              + (key_.rule == value_rule::no_limit ? " (or -1: no limit)" : ""),
                          item->at);
      return;
    }
    if constexpr (is_duration<T>::value)
      set(field, T{*n});
    else
      set(field, static_cast<T>(*n));
  }

private:
  template <class T, class V> void set(accessor<T> field, V&& v) {
    field(state_.config) = std::forward<V>(v);
    state_.origins[&key_] = value_.at;
  }

  void add(const issue& bad, const position& at) { state_.problems.add(bad.code, bad.message, at); }

  void wrong_type() {
    std::string actual =
        value_.is_list ? "an array" : std::string{item_type_name(value_.items.front())};
    state_.problems.add(
        codes::wrong_type,
        name_ + " must be " + std::string{kind_name(kind_of(key_))} + ", not " + actual, value_.at);
  }

  const raw_item* scalar() const {
    return value_.is_list || value_.items.empty() ? nullptr : &value_.items.front();
  }

  std::optional<std::string> scalar_string() {
    if (const auto* item = scalar())
      if (const auto* s = std::get_if<std::string>(&item->value))
        return *s;
    wrong_type();
    return std::nullopt;
  }

  std::optional<std::vector<std::string>> string_list() {
    if (!value_.is_list) {
      wrong_type();
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const auto& item : value_.items) {
      if (const auto* s = std::get_if<std::string>(&item.value)) {
        out.push_back(*s);
      } else {
        state_.problems.add(codes::wrong_type,
                            name_ + " must be " + std::string{kind_name(kind_of(key_))}
                                + ", not an array holding " + std::string{item_type_name(item)},
                            item.at);
        ok = false;
      }
    }
    return ok ? std::optional{std::move(out)} : std::nullopt;
  }

  std::optional<issue> rule_issue(const std::string& text) const {
    switch (key_.rule) {
    case value_rule::none:
      return std::nullopt;
    case value_rule::identifier:
      return check_identifier(name_, text);
    case value_rule::nats_url:
      return check_nats_url(name_, text);
    case value_rule::database_url:
      return check_database_url(text);
    case value_rule::log_level:
      return check_log_level(text);
    case value_rule::key_file:
      return check_key_file(name_, text, true);
    case value_rule::readable_file:
      return check_key_file(name_, text, false);
    case value_rule::path:
      return check_text(name_, text, 4096);
    case value_rule::text:
      return check_text(name_, text, 512);
    case value_rule::host:
      return check_host(name_, text);
    case value_rule::no_limit:
      return std::nullopt; // an integer rule
    }
    return std::nullopt;
  }

  /// A relative key file named in a config file lives beside that file, not
  /// wherever the node happens to be started from.
  std::string resolve(const std::string& path) const {
    if (value_.at.from != origin::file || state_.base_dir.empty() || path.empty())
      return path;
    std::filesystem::path p{path};
    if (p.is_absolute())
      return path;
    return (std::filesystem::path{state_.base_dir} / p).lexically_normal().string();
  }

  static std::string role_list() {
    std::string out;
    for (auto r : all_roles()) {
      if (!out.empty())
        out += ", ";
      out += to_string(r);
    }
    return out;
  }

  const key_spec& key_;
  const raw_value& value_;
  load_state& state_;
  std::string name_;
};

} // namespace

value_kind kind_of(const key_spec& key) {
  return std::visit(
      [](auto field) {
        using T = std::remove_cvref_t<decltype(field(std::declval<node_config&>()))>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, troupe::log::format>)
          return value_kind::string;
        else if constexpr (std::is_same_v<
                               T, std::vector<std::string>> || std::is_same_v<T, std::vector<role>>)
          return value_kind::string_list;
        else if constexpr (std::is_same_v<T, bool>)
          return value_kind::boolean;
        else
          return value_kind::integer;
      },
      key.field);
}

std::string_view kind_name(value_kind kind) {
  switch (kind) {
  case value_kind::string:
    return "a string";
  case value_kind::string_list:
    return "an array of strings";
  case value_kind::integer:
    return "an integer";
  case value_kind::boolean:
    return "a boolean";
  }
  return "a value";
}

void assign(const key_spec& key, const raw_value& value, load_state& state) {
  state.given.insert(&key);
  std::visit(checker{key, value, state}, key.field);
}

} // namespace troupe::config::detail
