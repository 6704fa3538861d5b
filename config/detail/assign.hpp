#pragma once
/// Type, range and rule checks on one value, and its assignment when it
/// passes: a value that fails leaves the default in place, so later
/// consistency checks do not pile follow-on errors onto the real one.
#include "config/detail/load_state.hpp"

namespace troupe::config::detail {

/// Reports every problem of `value` for `key` and assigns it if there is
/// none. Records where the value came from when it is assigned.
void assign(const key_spec& key, const raw_value& value, load_state& state);

} // namespace troupe::config::detail
