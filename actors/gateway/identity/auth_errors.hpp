#pragma once
/// The refusals of the identity layer as the client sees them. The codes are
/// stable API: clients branch on them.
#include <string>

#include "actors/gateway/chat_backend.hpp"

namespace troupe::gateway::identity {

/// 401: no usable Authorization header.
inline api_error unauthenticated(std::string why) {
  return {401, "unauthenticated", std::move(why)};
}

/// 401: a token or API key that does not verify; `why` says what failed.
inline api_error invalid_token(std::string why) {
  return {401, "invalid_token", std::move(why)};
}

/// 403: an authenticated identity of a tenant other than the one named by
/// X-Tenant-ID or the one a single-tenant gateway is pinned to.
inline api_error tenant_mismatch(std::string why) {
  return {403, "tenant_mismatch", std::move(why)};
}

/// 503: the key store cannot be asked right now; the client may retry.
inline api_error auth_unavailable(std::string why) {
  return {503, "auth_unavailable", std::move(why)};
}

} // namespace troupe::gateway::identity
