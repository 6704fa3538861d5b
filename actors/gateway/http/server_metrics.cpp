#include "actors/gateway/http/server_metrics.hpp"

#include <string>

namespace troupe::gateway::http {

server_metrics::server_metrics(prometheus::Registry* reg) {
  if (reg == nullptr)
    return;
  requests_ = &prometheus::BuildCounter()
                   .Name("troupe_gateway_requests_total")
                   .Help("Gateway HTTP requests, by route pattern and status")
                   .Register(*reg);
  seconds_ = &prometheus::BuildHistogram()
                  .Name("troupe_gateway_request_seconds")
                  .Help("Gateway HTTP request time, first byte read to last byte written")
                  .Register(*reg);
  connections_ = &prometheus::BuildGauge()
                      .Name("troupe_gateway_open_connections")
                      .Help("Open client connections")
                      .Register(*reg)
                      .Add({});
  streams_ = &prometheus::BuildGauge()
                  .Name("troupe_gateway_active_streams")
                  .Help("Streaming answers in progress (SSE)")
                  .Register(*reg)
                  .Add({});
}

server_metrics::series server_metrics::series_for(std::string_view route, unsigned status) {
  // Turns take seconds to minutes; the gateway's own routes take microseconds.
  static const prometheus::Histogram::BucketBoundaries bounds{
      0.0005, 0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  std::lock_guard lock{series_mutex_};
  auto it = series_.find(route);
  if (it == series_.end())
    it = series_.emplace(std::string{route}, std::vector<series>{}).first;
  for (const auto& s : it->second)
    if (s.status == status)
      return s;
  const auto& r = it->first;
  auto& seconds =
      it->second.empty() ? seconds_->Add({{"route", r}}, bounds) : *it->second.front().seconds;
  auto& count = requests_->Add({{"route", r}, {"code", std::to_string(status)}});
  return it->second.emplace_back(series{status, &count, &seconds});
}

void server_metrics::request(std::string_view route, unsigned status,
                             std::chrono::steady_clock::duration took) {
  if (requests_ == nullptr)
    return;
  auto s = series_for(route, status);
  s.count->Increment();
  s.seconds->Observe(std::chrono::duration<double>(took).count());
}

void server_metrics::connections(double delta) {
  if (connections_ != nullptr)
    connections_->Increment(delta);
}

void server_metrics::streams(double delta) {
  if (streams_ != nullptr)
    streams_->Increment(delta);
}

} // namespace troupe::gateway::http
