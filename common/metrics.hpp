#pragma once
/// The node's Prometheus registry. Components register their families on the
/// registry they are given (tests pass their own); the admin server renders
/// it in the text exposition format on /metrics.
#include <memory>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <string>

namespace troupe::metrics {

using registry_ptr = std::shared_ptr<prometheus::Registry>;

registry_ptr make_registry();

/// Renders every family of `reg` in the Prometheus text format 0.0.4.
std::string render(const prometheus::Registry& reg);

} // namespace troupe::metrics
