#pragma once
/// What a node's sessions show an operator, on the node's Prometheus
/// registry: troupe_sessions_active (gauge), troupe_session_activations_total
/// {outcome} (hosted, moved, not_found, error), troupe_turns_total{outcome}
/// (completed, failed, cancelled) and troupe_turn_seconds (start to answer).
/// Thread-safe (prometheus-cpp's metrics are atomic). A null registry or one
/// that holds these names with another type leaves every call a no-op.
#include <chrono>
#include <string_view>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <class T>
class Family;
} // namespace prometheus

namespace troupe::session {

class session_metrics {
public:
  explicit session_metrics(prometheus::Registry* registry);

  void active(double delta);
  void activation(std::string_view outcome);
  void turn(std::string_view outcome, std::chrono::steady_clock::duration took);

private:
  prometheus::Gauge* active_ = nullptr;
  prometheus::Family<prometheus::Counter>* activations_ = nullptr;
  prometheus::Family<prometheus::Counter>* turns_ = nullptr;
  prometheus::Histogram* seconds_ = nullptr;
};

} // namespace troupe::session
