#pragma once
/// The environment reader: TROUPE_<SECTION>_<KEY> and the aliases, each read
/// as its key's type (E010 when it cannot be), then handed to assign().
/// Unknown TROUPE_* variables belong to other tools and are ignored.
#include "config/detail/load_state.hpp"
#include "config/load.hpp"

namespace troupe::config::detail {

void read_env(const env_map& env, load_state& state);

} // namespace troupe::config::detail
