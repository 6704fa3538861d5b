#include "config/detail/read_env.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "config/detail/assign.hpp"
#include "config/detail/checks.hpp"
#include "config/problem.hpp"

namespace troupe::config::detail {

namespace {

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<bool> parse_bool(std::string_view text) {
  auto t = lower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on")
    return true;
  if (t == "false" || t == "0" || t == "no" || t == "off")
    return false;
  return std::nullopt;
}

class env_reader {
public:
  explicit env_reader(load_state& state) : state_(state) {}

  void read(const key_spec& key, const std::string& variable, std::string_view text) {
    state_.given.insert(&key);
    auto at = at_env(variable);
    auto value = trim(text);
    raw_value raw{false, {}, at};
    switch (kind_of(key)) {
    case value_kind::string:
      raw.items.push_back({std::string{value}, at});
      break;
    case value_kind::string_list:
      raw.is_list = true;
      if (!split(key, value, at, raw.items))
        return;
      break;
    case value_kind::integer: {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc::result_out_of_range) {
        state_.problems.add(codes::out_of_range,
                            qualified_name(key) + " = " + printable(value) + " is out of range ["
                                + std::to_string(key.min) + ", " + std::to_string(key.max) + "]",
                            at);
        return;
      }
      if (ec != std::errc{} || end != value.data() + value.size()) {
        bad(key, value, "is not an integer", at);
        return;
      }
      raw.items.push_back({n, at});
      break;
    }
    case value_kind::boolean: {
      auto b = parse_bool(value);
      if (!b) {
        bad(key, value, "is not a boolean (true/false, 1/0, yes/no, on/off)", at);
        return;
      }
      raw.items.push_back({*b, at});
      break;
    }
    }
    assign(key, raw, state_);
  }

private:
  /// Comma-separated; blanks around elements are dropped. An empty value is
  /// an empty list; an empty element among others is a typo ("a,,b").
  bool split(const key_spec& key, std::string_view value, const position& at,
             std::vector<raw_item>& out) {
    if (value.empty())
      return true;
    std::size_t start = 0;
    while (true) {
      auto comma = value.find(',', start);
      auto element = trim(value.substr(start, comma == value.npos ? value.npos : comma - start));
      if (element.empty()) {
        bad(key, value, "has an empty element", at);
        return false;
      }
      out.push_back({std::string{element}, at});
      if (comma == value.npos)
        return true;
      start = comma + 1;
    }
  }

  void bad(const key_spec& key, std::string_view value, std::string_view why, const position& at) {
    state_.problems.add(
        codes::bad_env_value,
        qualified_name(key) + " " + printable(redact_url(value)) + " " + std::string{why}, at);
  }

  load_state& state_;
};

const key_spec* canonical_key(const std::string& variable) {
  for (const auto& k : known_keys())
    if (env_name(k) == variable)
      return &k;
  return nullptr;
}

} // namespace

void read_env(const env_map& env, load_state& state) {
  env_reader reader{state};
  for (const auto& [variable, value] : env)
    if (const auto* key = canonical_key(variable))
      reader.read(*key, variable, value);
  for (const auto& alias : env_aliases()) {
    auto it = env.find(std::string{alias.variable});
    const auto* key = find_key(alias.section, alias.name);
    if (it == env.end() || !key)
      continue;
    auto own = env.find(env_name(*key));
    if (own == env.end()) {
      reader.read(*key, it->first, it->second);
    } else if (trim(own->second) != trim(it->second)) {
      state.problems.add(codes::inconsistent_values,
                         it->first + " and " + own->first + " disagree; set only one",
                         at_env(it->first));
    }
  }
}

} // namespace troupe::config::detail
