#include "actors/gateway/identity/identity_headers.hpp"

#include "actors/gateway/identity/auth_errors.hpp"

namespace troupe::gateway::identity {

result<troupe::v1::Principal> check_identity_headers(const credentials& c,
                                                     result<troupe::v1::Principal> authenticated) {
  const auto* p = std::get_if<troupe::v1::Principal>(&authenticated);
  if (p == nullptr)
    return authenticated;
  if (!c.tenant_header.empty() && c.tenant_header != p->tenant())
    return tenant_mismatch("X-Tenant-ID names a tenant other than the authenticated one");
  if (!c.user_header.empty() && c.user_header != p->user())
    return api_error{403, "user_mismatch",
                     "X-User-ID names a user other than the authenticated one"};
  return authenticated;
}

} // namespace troupe::gateway::identity
