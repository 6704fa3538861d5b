#pragma once
/// Dev mode: no authentication at all. Every request acts as one fixed
/// tenant and user; the Authorization header is ignored. The identity
/// headers still must not name anyone else (403), so clients written against
/// dev mode behave the same in production. Logs a warning when made.
#include <caf/expected.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "actors/gateway/authenticator.hpp"
#include "actors/gateway/identity/principal_stamp.hpp"

namespace troupe::gateway::identity {

struct dev_options {
  std::string tenant = "dev";
  std::string user = "dev";
  std::vector<std::string> roles;
  std::chrono::milliseconds principal_ttl{default_principal_ttl};
};

/// errc::options_invalid for a tenant that is not a bus subject token, an
/// empty user or a non-positive principal lifetime.
[[nodiscard]] caf::expected<authenticator_ptr> make_dev_authenticator(dev_options opts);

} // namespace troupe::gateway::identity
