#pragma once
/// What a node's sessions show an operator, on the node's Prometheus
/// registry: troupe_sessions_active (gauge), troupe_session_activations_total
/// {outcome} (hosted, moved, not_found, error), troupe_turns_total{outcome}
/// (completed, failed, cancelled) and troupe_turn_seconds (start to answer).
/// Thread-safe (prometheus-cpp's metrics are atomic). A null registry or one
/// that holds these names with another type leaves every call a no-op.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
} // namespace prometheus

namespace troupe::session {

enum class activation_outcome { hosted, moved, not_found, error };
enum class turn_outcome { completed, failed, cancelled };

class session_metrics {
public:
  explicit session_metrics(prometheus::Registry* registry);

  void active(double delta);
  /// Sessions live on this node now (what its heartbeat reports).
  [[nodiscard]] uint32_t sessions_active() const noexcept;
  void activation(activation_outcome outcome);
  void turn(turn_outcome outcome, std::chrono::steady_clock::duration took);

private:
  // Every labelled series made up front: counting on the turn path is an
  // atomic add, not a label lookup under the family's lock.
  prometheus::Gauge* active_ = nullptr;
  std::atomic<int64_t> active_count_{0};
  std::array<prometheus::Counter*, 4> activations_{};
  std::array<prometheus::Counter*, 3> turns_{};
  prometheus::Histogram* seconds_ = nullptr;
};

} // namespace troupe::session
