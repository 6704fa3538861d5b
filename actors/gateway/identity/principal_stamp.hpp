#pragma once
/// The principal for an identity that carries no expiry of its own (an API
/// key, dev mode): valid from `now` for `ttl`. Every principal the gateway
/// stamps expires, because the bus refuses one that does not.
#include <chrono>
#include <string>

#include "troupe/v1/principal.pb.h"

namespace troupe::gateway::identity {

inline constexpr std::chrono::minutes default_principal_ttl{15};

template <class Roles>
troupe::v1::Principal stamp_principal(const std::string& tenant, const std::string& user,
                                      const Roles& roles, std::chrono::system_clock::time_point now,
                                      std::chrono::milliseconds ttl) {
  auto now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  troupe::v1::Principal p;
  p.set_tenant(tenant);
  p.set_user(user);
  for (const auto& r : roles)
    p.add_roles(r);
  p.set_issued_unix_ms(now_ms);
  p.set_expires_unix_ms(now_ms + ttl.count());
  return p;
}

} // namespace troupe::gateway::identity
