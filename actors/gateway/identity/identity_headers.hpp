#pragma once
/// The rule for the client's identity headers (X-Tenant-ID, X-User-ID): they
/// are never identity. Absent or equal to the authenticated identity, they
/// are fine; naming anyone else, the request is refused, so a client that
/// believes it acts for another tenant learns it does not.
#include "actors/gateway/authenticator.hpp"

namespace troupe::gateway::identity {

/// `authenticated` unchanged when it is an error or the headers agree with
/// it; otherwise 403 `tenant_mismatch` or `user_mismatch`.
[[nodiscard]] result<troupe::v1::Principal>
check_identity_headers(const credentials& c, result<troupe::v1::Principal> authenticated);

} // namespace troupe::gateway::identity
