#include "common/error_table.hpp"

#include <mutex>
#include <deque>

namespace troupe {

namespace {

struct registry {
  std::mutex mtx;
  std::deque<error_component> entries; // stable addresses: lookups hand out pointers
};

// Function-local: modules register from their own static initialisers, in
// whatever order the linker puts them.
registry& components() {
  static registry r;
  return r;
}

} // namespace

bool register_error_component(const error_component& c) {
  auto& r = components();
  std::lock_guard lock{r.mtx};
  r.entries.push_back(c);
  return true;
}

const error_component* error_component_of(caf::atom_value category) {
  auto& r = components();
  std::lock_guard lock{r.mtx};
  for (const auto& e : r.entries)
    if (e.category == category)
      return &e;
  return nullptr;
}

const error_component* error_component_named(std::string_view component) {
  auto& r = components();
  std::lock_guard lock{r.mtx};
  for (const auto& e : r.entries)
    if (e.component == component)
      return &e;
  return nullptr;
}

} // namespace troupe
