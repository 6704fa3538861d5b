#include "actors/session/session_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "common/logging.hpp"

namespace troupe::session {

session_metrics::session_metrics(prometheus::Registry* reg) {
  if (reg == nullptr)
    return;
  try {
    active_ = &prometheus::BuildGauge()
                 .Name("troupe_sessions_active")
                 .Help("Session actors live on this node")
                 .Register(*reg)
                 .Add({});
    auto& activations = prometheus::BuildCounter()
                          .Name("troupe_session_activations_total")
                          .Help("Requests to host a session here, by outcome")
                          .Register(*reg);
    size_t i = 0;
    for (const char* outcome : {"hosted", "moved", "not_found", "error"})
      activations_[i++] = &activations.Add({{"outcome", outcome}});
    auto& turns = prometheus::BuildCounter()
                    .Name("troupe_turns_total")
                    .Help("Turns run by this node's sessions, by outcome")
                    .Register(*reg);
    i = 0;
    for (const char* outcome : {"completed", "failed", "cancelled"})
      turns_[i++] = &turns.Add({{"outcome", outcome}});
    // Turns take from milliseconds (the dev model) to minutes (tool loops).
    static const prometheus::Histogram::BucketBoundaries bounds{
      0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
    seconds_ = &prometheus::BuildHistogram()
                  .Name("troupe_turn_seconds")
                  .Help("Turn time, from its start on the session to its answer")
                  .Register(*reg)
                  .Add({}, bounds);
  } catch (const std::exception& e) {
    // Metrics are a side channel: sessions run without them.
    log::get("session")->error("session metrics disabled: {}", e.what());
    active_ = nullptr;
    activations_ = {};
    turns_ = {};
    seconds_ = nullptr;
  }
}

uint32_t session_metrics::sessions_active() const noexcept {
  auto n = active_count_.load(std::memory_order_relaxed);
  return n > 0 ? static_cast<uint32_t>(n) : 0;
}

void session_metrics::active(double delta) {
  active_count_.fetch_add(static_cast<int64_t>(delta), std::memory_order_relaxed);
  if (active_ != nullptr)
    active_->Increment(delta);
}

void session_metrics::activation(activation_outcome outcome) {
  if (auto* c = activations_[static_cast<size_t>(outcome)])
    c->Increment();
}

void session_metrics::turn(turn_outcome outcome, std::chrono::steady_clock::duration took) {
  auto* c = turns_[static_cast<size_t>(outcome)];
  if (c == nullptr)
    return;
  c->Increment();
  seconds_->Observe(std::chrono::duration<double>(took).count());
}

} // namespace troupe::session
