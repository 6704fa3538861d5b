#pragma once
/// The supervision families on the node's Prometheus registry:
/// troupe_actor_restarts_total{supervisor,child} (counter) and
/// troupe_actor_running{supervisor,child} (gauge, 1 while the child runs).
/// Families merge on the registry, so a restarted supervisor keeps counting
/// on the same series.
#include <map>
#include <string>

namespace prometheus {
class Counter;
class Gauge;
class Registry;
} // namespace prometheus

namespace troupe::supervision {

class restart_metrics {
public:
  /// A null registry makes every call a no-op. The registry must outlive this.
  restart_metrics(prometheus::Registry* registry, std::string supervisor);

  void restarted(const std::string& child);
  void set_running(const std::string& child, bool running);

private:
  struct series {
    prometheus::Counter* restarts = nullptr;
    prometheus::Gauge* running = nullptr;
  };
  series* find(const std::string& child);

  prometheus::Registry* registry_;
  std::string supervisor_;
  std::map<std::string, series> series_;
};

} // namespace troupe::supervision
