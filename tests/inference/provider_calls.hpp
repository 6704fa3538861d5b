#pragma once
/// Helpers of the provider tests: options sized for tests and a blocking
/// wrapper over provider_pool for tests that look at one call's outcome.
#include <caf/message.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "actors/inference/provider_pool.hpp"
#include "tests/inference/requests.hpp"

namespace troupe::test {

inline constexpr const char* provider_api_key = "sk-test-SECRET-0123456789";

/// Options sized for tests: every wait is short.
inline inference::openai_options test_provider(const std::string& base_url) {
  using namespace std::chrono_literals;
  inference::openai_options o;
  o.provider = "fake";
  o.base_url = base_url;
  o.api_key = provider_api_key;
  o.connect_timeout = 500ms;
  o.request_timeout = 2s;
  o.idle_timeout = 1s;
  o.max_retries = 2;
  o.backoff_initial = 10ms;
  o.backoff_max = 40ms;
  o.retry_after_max = 2s;
  return o;
}

inline troupe::v1::GenerateRequest hello() {
  return make_request({{"system", "be brief"}, {"user", "hi"}});
}

inline std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  return ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0) : std::string{};
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// One call's deltas and its end, filled on the pool thread and read after
/// done() (the future orders them).
class call_probe {
public:
  inference::delta_fn deltas_fn() {
    return [this](std::string_view d) {
      std::lock_guard lock{mtx_};
      deltas_.emplace_back(d);
    };
  }
  inference::provider_pool::done_fn done_fn() {
    return [this](caf::expected<troupe::v1::GenerateResult> r) {
      std::lock_guard lock{mtx_};
      ++dones_;
      if (dones_ == 1)
        promise_.set_value(std::move(r));
    };
  }
  std::future<caf::expected<troupe::v1::GenerateResult>>& result() { return future_; }
  std::vector<std::string> deltas() const {
    std::lock_guard lock{mtx_};
    return deltas_;
  }
  int dones() const {
    std::lock_guard lock{mtx_};
    return dones_;
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::string> deltas_;
  int dones_ = 0;
  std::promise<caf::expected<troupe::v1::GenerateResult>> promise_;
  std::future<caf::expected<troupe::v1::GenerateResult>> future_ = promise_.get_future();
};

/// Starts `req` on `pool` (streamed when `stream`), reporting to `probe`.
inline inference::provider_pool::handle start_call(inference::provider_pool& pool,
                                                   inference::openai_options o,
                                                   troupe::v1::GenerateRequest req,
                                                   call_probe& probe, bool stream,
                                                   std::string model = "m") {
  return pool.start({std::move(o),
                     std::make_shared<const troupe::v1::GenerateRequest>(std::move(req)),
                     std::move(model), stream ? probe.deltas_fn() : inference::delta_fn{},
                     probe.done_fn()});
}

/// Runs one call to its end: the result, and the deltas when `deltas` is set.
inline caf::expected<troupe::v1::GenerateResult>
run_call(inference::openai_options o, troupe::v1::GenerateRequest req,
         std::vector<std::string>* deltas = nullptr, std::string model = "m") {
  inference::provider_pool pool{1};
  call_probe probe;
  start_call(pool, std::move(o), std::move(req), probe, deltas != nullptr, std::move(model));
  using namespace std::chrono_literals;
  if (probe.result().wait_for(30s) != std::future_status::ready)
    throw std::runtime_error("the provider call never ended");
  auto result = probe.result().get();
  if (deltas != nullptr)
    *deltas = probe.deltas();
  return result;
}

} // namespace troupe::test
