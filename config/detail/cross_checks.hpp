#pragma once
/// Checks that need more than one value, run once the file and the
/// variables have been merged: required values (E006), contradictions
/// (E013) and a pinned tenant dev mode does not act for (E017).
#include "config/detail/load_state.hpp"

namespace troupe::config::detail {

/// `whole` is where a problem of no single value is reported (the file name).
void check_consistency(load_state& state, const position& whole);

} // namespace troupe::config::detail
