#include "config/detail/read_toml.hpp"

#include <toml++/toml.h>

#include <optional>
#include <vector>

#include "config/detail/assign.hpp"
#include "config/detail/checks.hpp"
#include "config/detail/suggest.hpp"
#include "config/problem.hpp"

namespace troupe::config::detail {

namespace {

std::string_view type_name(toml::node_type t) {
  switch (t) {
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::date:
    return "a date";
  case toml::node_type::time:
    return "a time";
  case toml::node_type::date_time:
    return "a date-time";
  case toml::node_type::none:
    break;
  }
  return "nothing";
}

class file_reader {
public:
  file_reader(const std::string& source, load_state& state) : source_(source), state_(state) {}

  void read(const toml::table& root) {
    for (auto&& [name, value] : root)
      read_section(name, value);
  }

private:
  position at(const toml::source_region& region) const {
    return at_file(source_, region.begin.line, region.begin.column);
  }

  void read_section(const toml::key& name, const toml::node& value) {
    auto section = name.str();
    auto sections = known_sections();
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      state_.problems.add(codes::unknown_key,
                          "unknown section " + printable(section) + did_you_mean(section, sections),
                          at(name.source()));
      return;
    }
    const auto* table = value.as_table();
    if (!table) {
      state_.problems.add(codes::wrong_type,
                          "[" + std::string{section} + "] must be a table, not "
                              + std::string{type_name(value.type())},
                          at(value.source()));
      return;
    }
    for (auto&& [key, v] : *table) {
      const auto* spec = find_key(section, key.str());
      if (!spec) {
        unknown_key(section, key);
        continue;
      }
      state_.given.insert(spec);
      if (auto raw = to_raw(*spec, v))
        assign(*spec, *raw, state_);
    }
  }

  void unknown_key(std::string_view section, const toml::key& key) {
    std::vector<std::string_view> names;
    for (const auto& k : known_keys())
      if (k.section == section)
        names.push_back(k.name);
    state_.problems.add(codes::unknown_key,
                        "unknown key "
                            + printable(std::string{section} + "." + std::string{key.str()})
                            + did_you_mean(key.str(), names),
                        at(key.source()));
  }

  std::optional<raw_item> item(const toml::node& n) const {
    if (const auto* s = n.as_string())
      return raw_item{s->get(), at(n.source())};
    if (const auto* i = n.as_integer())
      return raw_item{i->get(), at(n.source())};
    if (const auto* b = n.as_boolean())
      return raw_item{b->get(), at(n.source())};
    return std::nullopt;
  }

  /// Strings, integers and booleans become items; anything else no key can
  /// hold, so it is reported here with its TOML type.
  std::optional<raw_value> to_raw(const key_spec& spec, const toml::node& v) {
    auto expected = std::string{kind_name(kind_of(spec))};
    raw_value out{false, {}, at(v.source())};
    if (const auto* array = v.as_array()) {
      out.is_list = true;
      bool ok = true;
      for (const auto& element : *array) {
        if (auto i = item(element)) {
          out.items.push_back(std::move(*i));
        } else {
          state_.problems.add(codes::wrong_type,
                              qualified_name(spec) + " must be " + expected
                                  + ", not an array holding "
                                  + std::string{type_name(element.type())},
                              at(element.source()));
          ok = false;
        }
      }
      return ok ? std::optional{std::move(out)} : std::nullopt;
    }
    if (auto i = item(v)) {
      out.items.push_back(std::move(*i));
      return out;
    }
    state_.problems.add(codes::wrong_type,
                        qualified_name(spec) + " must be " + expected + ", not "
                            + std::string{type_name(v.type())},
                        at(v.source()));
    return std::nullopt;
  }

  const std::string& source_;
  load_state& state_;
};

} // namespace

bool read_toml(std::string_view text, const std::string& source, load_state& state) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view{source});
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    // toml++ quotes the offending character, which may be a control character.
    std::string why{e.description()};
    for (char& c : why)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        c = '?';
    state.problems.add(codes::syntax_error, "TOML syntax error: " + why,
                       at_file(source, begin.line, begin.column));
    return false;
  }
  file_reader{source, state}.read(root);
  return true;
}

} // namespace troupe::config::detail
