#pragma once
/// The one implementation behind every module's errc: a table of stable
/// names (index 0 is code 1, `unknown`), the module's CAF category and the
/// component name its errors carry on the wire (troupe.v1.Error.component).
/// Each module's errc.cpp defines its table and expands
/// TROUPE_DEFINE_ERRC(table), so every module names, parses, builds and
/// tests its errors the same way, and registers them (error_component_of):
/// a local caf::error becomes the troupe.v1.Error that travels, and a
/// received one becomes the local module's code again, without any string
/// being parsed back.
#include <array>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe {

template <class Errc, size_t N>
struct error_table {
  caf::atom_value category;
  std::string_view component;
  std::array<std::string_view, N> names;

  constexpr std::string_view name(Errc code) const noexcept {
    auto i = static_cast<size_t>(code);
    return i >= 1 && i <= N ? names[i - 1] : names[0];
  }

  /// errc 1 (`unknown`) for names this build lacks, e.g. from a newer peer.
  constexpr Errc parse(std::string_view name) const noexcept {
    for (size_t i = 0; i < N; ++i)
      if (names[i] == name)
        return static_cast<Errc>(i + 1);
    return static_cast<Errc>(1);
  }

  caf::error make(Errc code) const {
    return caf::error{static_cast<uint8_t>(code), category};
  }

  caf::error make(Errc code, std::string context) const {
    return caf::error{static_cast<uint8_t>(code), category,
                      caf::make_message(std::move(context))};
  }

  /// False for the empty error: CAF 0.17's category() would dereference it.
  bool is(const caf::error& err, Errc code) const noexcept {
    return err && err.category() == category && err.code() == static_cast<uint8_t>(code);
  }
};

/// What the registry knows of one module's errors.
struct error_component {
  caf::atom_value category;
  std::string_view component; // as on the wire: "bus", "session", "storage", ...
  std::string_view (*name)(uint8_t code);
  uint8_t (*parse)(std::string_view name);
};

/// Registers a module's errors; called at static initialisation by
/// TROUPE_DEFINE_ERRC. Always true (so it can initialise a constant).
bool register_error_component(const error_component& c);

/// The module of a CAF category or of a wire component name; null when no
/// module linked into this program has it.
const error_component* error_component_of(caf::atom_value category);
const error_component* error_component_named(std::string_view component);

} // namespace troupe

/// Defines a module's to_string, errc_from_string, make_error (both forms)
/// and is() over `table` (an error_table in an anonymous namespace of the
/// module's errc.cpp, inside the module's namespace), and registers it.
#define TROUPE_DEFINE_ERRC(table)                                                          \
  std::string_view to_string(errc code) noexcept { return table.name(code); }              \
  errc errc_from_string(std::string_view name) noexcept { return table.parse(name); }      \
  caf::error make_error(errc code) { return table.make(code); }                            \
  caf::error make_error(errc code, std::string context) {                                  \
    return table.make(code, std::move(context));                                           \
  }                                                                                        \
  bool is(const caf::error& err, errc code) noexcept { return table.is(err, code); }       \
  namespace {                                                                              \
  [[maybe_unused]] const bool registered_errc = ::troupe::register_error_component(        \
    {table.category, table.component,                                                      \
     [](uint8_t c) { return table.name(static_cast<errc>(c)); },                           \
     [](std::string_view n) { return static_cast<uint8_t>(table.parse(n)); }});            \
  }
