#pragma once
/// Runs provider calls (openai_call) on a small fixed set of threads, each
/// driving one libcurl multi handle: any number of calls share the threads,
/// and a slow stream holds a socket, not a thread. A call's attempts, its
/// backoff between them (a timer in the loop, never a sleep), its timeouts
/// and its cancellation all happen on the one thread it was given.
///
/// Callbacks run on that pool thread: a call's deltas in order, then its
/// done exactly once. They should be quick (a publish, a send to an actor)
/// and must not destroy the pool. Connections to a provider are kept and
/// reused by the calls of one thread.
///
/// Threads: start, cancel and in_flight may be called from any thread,
/// callbacks included.
#include <caf/expected.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/inference/openai_call.hpp"

namespace troupe::inference {

class provider_pool {
public:
  using done_fn = std::function<void(caf::expected<troupe::v1::GenerateResult>)>;

  /// One generation for the pool to run.
  struct call {
    openai_options provider;
    std::shared_ptr<const troupe::v1::GenerateRequest> request;
    std::string model; ///< the provider's own model name
    delta_fn on_delta; ///< streams when set; each content delta, in order
    done_fn done;      ///< the result or error, after the last delta
  };

  /// Names a started call for cancel(); never reused.
  struct handle {
    uint64_t id = 0;
    uint32_t worker = 0;
  };

  static constexpr size_t max_threads = 64;

  /// Starts `threads` threads (clamped to 1..max_threads), each with its own
  /// curl multi handle. Throws std::runtime_error when curl cannot start.
  explicit provider_pool(size_t threads);
  /// Cancels every call still running (each done gets errc::cancelled) and
  /// joins the threads. Never from a pool thread.
  ~provider_pool();
  provider_pool(const provider_pool&) = delete;
  provider_pool& operator=(const provider_pool&) = delete;

  /// Hands `c` to the thread with the fewest calls. An unusable request ends
  /// in done with errc::invalid_request, before any network call; the other
  /// errors are openai_call's. A call started by a callback while the pool
  /// is being destroyed ends at once, here, with errc::cancelled.
  handle start(call c);

  /// Ends the call promptly: its transfer stops (the connection closes, the
  /// provider sees it) or its backoff ends, and done gets errc::cancelled.
  /// Nothing for a call already done.
  void cancel(handle h);

  size_t threads() const noexcept;
  /// Calls started whose done has not returned.
  size_t in_flight() const noexcept;

private:
  struct worker;
  std::vector<std::unique_ptr<worker>> workers_;
};

} // namespace troupe::inference
