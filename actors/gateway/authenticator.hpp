#pragma once
/// The seam between the gateway's HTTP front and identity: the HTTP layer
/// hands over what the client sent, the authenticator answers with the
/// principal to stamp or an api_error (401 `unauthenticated`, 403
/// `tenant_mismatch`, ...). The client's identity headers are only ever
/// compared with the authenticated identity, never believed.
///
/// Threads: `authenticate` returns at once; `done` runs exactly once, on any
/// thread (an API key may need a PostgreSQL lookup, which never runs on the
/// caller's thread).
#include <memory>
#include <string>

#include "actors/gateway/chat_backend.hpp"

namespace troupe::gateway {

struct credentials {
  std::string authorization; // the Authorization header, verbatim; empty if absent
  std::string tenant_header; // X-Tenant-ID as sent; empty if absent
  std::string user_header;   // X-User-ID as sent; empty if absent
};

class authenticator {
public:
  virtual ~authenticator() = default;
  virtual void authenticate(credentials c, callback<troupe::v1::Principal> done) = 0;
};

using authenticator_ptr = std::shared_ptr<authenticator>;

} // namespace troupe::gateway
