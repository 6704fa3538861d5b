#include "actors/inference/provider_pool.hpp"

#include <curl/curl.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <variant>

#include "actors/inference/provider_attempt.hpp"
#include "common/logging.hpp"

namespace troupe::inference {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// The longest a loop sleeps with nothing due: a bound, not a tick.
constexpr milliseconds max_wait{1000};

void global_init_once() {
  // Thread-safe since libcurl 7.84; still done once, before any handle.
  static const bool done = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)done;
}

std::atomic<uint64_t> next_id{1};

/// One call on its thread: between attempts `attempt` is null and the next
/// one is due at `retry_at`.
struct job {
  uint64_t id;
  openai_call call;
  provider_pool::done_fn done;
  std::unique_ptr<provider_attempt> attempt;
  clock::time_point retry_at{};
};

} // namespace

struct provider_pool::worker {
  explicit worker(size_t index) : multi(curl_multi_init()) {
    if (multi == nullptr)
      throw std::runtime_error("provider_pool: cannot create a curl multi handle");
    try {
      thread = std::thread{[this, index] {
        auto name = "provider-" + std::to_string(index);
        pthread_setname_np(pthread_self(), name.c_str());
        run();
      }};
    } catch (...) {
      curl_multi_cleanup(multi);
      throw;
    }
  }

  ~worker() {
    stop();
    thread.join();
    curl_multi_cleanup(multi);
  }

  /// False when the pool is stopping: the job is handed back undone.
  bool post(std::unique_ptr<job>& j) {
    {
      std::lock_guard lock{mtx};
      if (stopping)
        return false;
      incoming.push_back(std::move(j));
    }
    curl_multi_wakeup(multi);
    return true;
  }

  void post_cancel(uint64_t id) {
    {
      std::lock_guard lock{mtx};
      cancels.push_back(id);
    }
    curl_multi_wakeup(multi);
  }

  void stop() {
    {
      std::lock_guard lock{mtx};
      stopping = true;
    }
    curl_multi_wakeup(multi);
  }

  void run() {
    for (;;) {
      std::vector<std::unique_ptr<job>> fresh;
      std::vector<uint64_t> cancelled;
      bool last_round = false;
      {
        std::lock_guard lock{mtx};
        fresh.swap(incoming);
        cancelled.swap(cancels);
        last_round = stopping;
      }
      if (last_round) {
        // Calls that came too late to start end with the others, unsent.
        for (auto& j : fresh)
          jobs.emplace(j->id, std::move(j));
        while (!jobs.empty())
          end(jobs.begin()->first, jobs.begin()->second->call.cancelled());
        return;
      }
      for (auto& j : fresh)
        admit(std::move(j));
      for (auto id : cancelled)
        if (auto it = jobs.find(id); it != jobs.end())
          end(id, it->second->call.cancelled());
      fire_timers();
      int running = 0;
      curl_multi_perform(multi, &running);
      int left = 0;
      while (auto* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE)
          continue;
        // The message dies with its handle: copy what settle needs.
        CURL* easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        char* j = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &j);
        if (j != nullptr)
          settle(*reinterpret_cast<job*>(j), code, abort_reason::none);
      }
      curl_multi_poll(multi, nullptr, 0, wait_ms(), nullptr);
    }
  }

  void admit(std::unique_ptr<job> j) {
    auto& ref = *j;
    jobs.emplace(ref.id, std::move(j));
    if (auto err = ref.call.prepare())
      return end(ref.id, std::move(err));
    launch(ref);
  }

  void launch(job& j) {
    j.attempt = std::make_unique<provider_attempt>(j.call);
    auto* easy = j.attempt->easy();
    if (easy == nullptr)
      return settle(j, CURLE_OUT_OF_MEMORY, abort_reason::none);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &j);
    if (curl_multi_add_handle(multi, easy) != CURLM_OK)
      settle(j, CURLE_FAILED_INIT, abort_reason::none);
  }

  /// The attempt of `j` is over (curl finished it, or the loop stopped it
  /// for `aborted`): a retry is scheduled or the call ends.
  void settle(job& j, CURLcode code, abort_reason aborted) {
    auto out = j.attempt->outcome(code, aborted);
    detach(j);
    auto next = j.call.after(out);
    if (auto* retry = std::get_if<retry_in>(&next)) {
      j.retry_at = clock::now() + retry->delay;
      return;
    }
    end(j.id, std::move(std::get<generate_result>(next)));
  }

  void detach(job& j) {
    if (!j.attempt)
      return;
    // Mid-transfer this closes the connection: the provider sees the call end.
    if (auto* easy = j.attempt->easy())
      curl_multi_remove_handle(multi, easy);
    j.attempt.reset();
  }

  void end(uint64_t id, generate_result result) {
    auto it = jobs.find(id);
    auto j = std::move(it->second);
    jobs.erase(it);
    detach(*j);
    try {
      j->done(std::move(result));
    } catch (const std::exception& e) {
      log::get("inference")->error("a provider call's done callback threw: {}", e.what());
    }
    j.reset();
    load.fetch_sub(1);
  }

  /// Due retries start; streams quiet past their idle timeout stop.
  void fire_timers() {
    auto now = clock::now();
    std::vector<job*> due;
    std::vector<job*> idle;
    for (auto& [id, j] : jobs) {
      if (!j->attempt && j->retry_at <= now)
        due.push_back(j.get());
      else if (j->attempt && j->call.streaming()
               && now - j->attempt->last_bytes() >= j->call.options().idle_timeout)
        idle.push_back(j.get());
    }
    for (auto* j : due)
      launch(*j);
    for (auto* j : idle)
      settle(*j, CURLE_OK, abort_reason::idle);
  }

  /// Until the next retry or idle deadline, or what curl's own timers need.
  int wait_ms() {
    auto now = clock::now();
    auto next = now + max_wait;
    for (auto& [id, j] : jobs) {
      if (!j->attempt)
        next = std::min(next, j->retry_at);
      else if (j->call.streaming())
        next = std::min(next, j->attempt->last_bytes() + j->call.options().idle_timeout);
    }
    auto ms = std::max<long>(0, std::chrono::ceil<milliseconds>(next - now).count());
    long curl_ms = -1;
    curl_multi_timeout(multi, &curl_ms);
    if (curl_ms >= 0)
      ms = std::min(ms, curl_ms);
    return static_cast<int>(ms);
  }

  CURLM* multi;
  std::mutex mtx;
  std::vector<std::unique_ptr<job>> incoming; // under mtx
  std::vector<uint64_t> cancels;              // under mtx
  bool stopping = false;                      // under mtx; never unset
  std::atomic<size_t> load{0};
  std::unordered_map<uint64_t, std::unique_ptr<job>> jobs; // the thread's own
  std::thread thread; // last: it starts once everything above exists
};

provider_pool::provider_pool(size_t threads) {
  global_init_once();
  threads = std::clamp<size_t>(threads, 1, max_threads);
  workers_.reserve(threads);
  // A worker that cannot start leaves the vector to stop and join the others.
  for (size_t i = 0; i < threads; ++i)
    workers_.push_back(std::make_unique<worker>(i));
}

provider_pool::~provider_pool() {
  // Stop all first, so the threads cancel their calls side by side; each
  // worker joins its thread as it goes.
  for (auto& w : workers_)
    w->stop();
  workers_.clear();
}

provider_pool::handle provider_pool::start(call c) {
  auto least = std::min_element(workers_.begin(), workers_.end(), [](const auto& a, const auto& b) {
    return a->load.load() < b->load.load();
  });
  auto& w = **least;
  handle h{next_id.fetch_add(1), static_cast<uint32_t>(least - workers_.begin())};
  w.load.fetch_add(1);
  auto j = std::make_unique<job>(job{
      h.id, openai_call{std::move(c.provider), std::move(c.request), std::move(c.model),
                        std::move(c.on_delta)},
      std::move(c.done), nullptr});
  if (!w.post(j)) {
    // Started while the pool stops (from a callback): ends here, once.
    j->done(j->call.cancelled());
    w.load.fetch_sub(1);
  }
  return h;
}

void provider_pool::cancel(handle h) {
  if (h.id != 0 && h.worker < workers_.size())
    workers_[h.worker]->post_cancel(h.id);
}

size_t provider_pool::threads() const noexcept {
  return workers_.size();
}

size_t provider_pool::in_flight() const noexcept {
  size_t n = 0;
  for (const auto& w : workers_)
    n += w->load.load();
  return n;
}

} // namespace troupe::inference
