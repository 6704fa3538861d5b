#include "actors/supervision/restart_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "common/logging.hpp"

namespace troupe::supervision {

restart_metrics::restart_metrics(prometheus::Registry* registry, std::string supervisor)
  : registry_(registry), supervisor_(std::move(supervisor)) {
}

restart_metrics::series* restart_metrics::find(const std::string& child) {
  if (registry_ == nullptr)
    return nullptr;
  auto i = series_.find(child);
  if (i != series_.end())
    return &i->second;
  prometheus::Labels labels{{"supervisor", supervisor_}, {"child", child}};
  series s;
  try {
    s.restarts = &prometheus::BuildCounter()
                    .Name("troupe_actor_restarts_total")
                    .Help("Restarts of a supervised actor after a crash")
                    .Register(*registry_)
                    .Add(labels);
    s.running = &prometheus::BuildGauge()
                   .Name("troupe_actor_running")
                   .Help("1 while a supervised actor runs, 0 while it is down")
                   .Register(*registry_)
                   .Add(labels);
  } catch (const std::exception& e) {
    // A registry that already holds these names with another type or other
    // labels: metrics are a side channel, supervision must go on without them.
    log::get("supervision")->error("supervisor '{}': restart metrics disabled: {}", supervisor_,
                                   e.what());
    registry_ = nullptr;
    return nullptr;
  }
  return &series_.emplace(child, s).first->second;
}

void restart_metrics::restarted(const std::string& child) {
  if (auto* s = find(child))
    s->restarts->Increment();
}

void restart_metrics::set_running(const std::string& child, bool running) {
  if (auto* s = find(child))
    s->running->Set(running ? 1.0 : 0.0);
}

} // namespace troupe::supervision
