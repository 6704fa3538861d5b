#pragma once
/// The one implementation behind every module's errc: a table of stable
/// names (index 0 is code 1, `unknown`) and the module's CAF category. Each
/// module's errc.cpp defines its table and forwards to it, so every module
/// names, parses, builds and tests its errors the same way.
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

} // namespace troupe
