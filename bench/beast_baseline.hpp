#pragma once
/// The baseline of bench/gateway_http: the least a Beast server does for a
/// keep-alive JSON GET, built like the gateway (coroutines, one strand per
/// connection, N I/O threads, the same header limit) but with no routing,
/// authentication, backend or metrics: it answers one fixed body.
#include <cstdint>
#include <memory>
#include <string>

namespace troupe::bench {

class beast_baseline {
public:
  beast_baseline(size_t io_threads, std::string body);
  ~beast_baseline();
  uint16_t port() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::bench
