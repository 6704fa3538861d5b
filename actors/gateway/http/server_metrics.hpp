#pragma once
/// The gateway's Prometheus families: troupe_gateway_requests_total{route,code},
/// troupe_gateway_request_seconds{route}, troupe_gateway_open_connections,
/// troupe_gateway_active_streams. `route` is a route pattern ("/v1/sessions/{id}")
/// or "other", never a raw path, so clients cannot grow the label set.
#include <chrono>
#include <mutex>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace troupe::gateway::http {

class server_metrics {
public:
  /// Registers on `reg`, or counts nothing when it is null. Throws
  /// std::invalid_argument when a name is taken by a family of another type.
  explicit server_metrics(prometheus::Registry* reg);

  void request(std::string_view route, unsigned status, std::chrono::steady_clock::duration took);

  /// +1 / -1 on the gauges.
  void connections(double delta);
  void streams(double delta);

private:
  /// A route and status's series. Family::Add builds two label maps, hashes
  /// them and takes the family's lock on every call; a request looks its
  /// series up here instead (the label set is bounded: patterns x statuses).
  struct series {
    unsigned status;
    prometheus::Counter* count;
    prometheus::Histogram* seconds;
  };
  struct key_hash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const noexcept {
      return std::hash<std::string_view>{}(k);
    }
  };
  series series_for(std::string_view route, unsigned status); // a copy: the vector may grow

  std::mutex series_mutex_;
  std::unordered_map<std::string, std::vector<series>, key_hash, std::equal_to<>> series_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Family<prometheus::Histogram>* seconds_ = nullptr;
  prometheus::Gauge* connections_ = nullptr;
  prometheus::Gauge* streams_ = nullptr;
};

} // namespace troupe::gateway::http
