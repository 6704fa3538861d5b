#include "actors/gateway/identity/api_key_lookup.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/logging.hpp"
#include "storage/errc.hpp"
#include "storage/lazy_connection.hpp"

namespace troupe::gateway::identity {

struct api_key_lookup::state {
  explicit state(options o) : opts(std::move(o)) {}

  const options opts;

  // Shared with callers, under mtx.
  std::mutex mtx;
  std::condition_variable wake;
  std::deque<std::string> reads; // key ids in arrival order, each once
  std::unordered_map<std::string, std::vector<reply>> waiting;
  size_t waiting_count = 0;
  std::unordered_set<std::string> touches;
  bool stopping = false;
  std::thread worker;

  // The lookup thread's own. After a failed connect every read is answered
  // at once with that failure for retry_after (fixed: keys must work again
  // soon after the database does).
  storage::lazy_connection db{opts.database_url,
                              {opts.connect_timeout, opts.retry_after, opts.retry_after}};
  bool was_down = false;

  fetched read(const std::string& key_id) {
    // A session that died while idle is replaced and the read made again.
    auto row =
        db.with_session([&](storage::connection& c) { return storage::find_api_key(c, key_id); });
    note_reachability();
    if (!row)
      log::get("identity")
          ->error("reading API key {} failed: {}", key_id, storage::message_of(row.error()));
    return row;
  }

  /// One line when the store goes away, one when it is back.
  void note_reachability() {
    bool down = static_cast<bool>(db.last_failure());
    if (down && !was_down)
      log::get("identity")
          ->warn("API key store unavailable: {}", storage::message_of(db.last_failure()));
    else if (!down && was_down)
      log::get("identity")->info("API key store reachable again");
    was_down = down;
  }

  void record_use(const std::string& key_id) {
    if (auto err = db.with_session(
            [&](storage::connection& c) { return storage::touch_api_key(c, key_id); }))
      log::get("identity")
          ->debug("recording the use of API key {} failed: {}", key_id, storage::message_of(err));
  }

  static void answer(std::vector<reply>& replies, const fetched& result) {
    for (auto& r : replies) {
      try {
        r(result);
      } catch (const std::exception& e) {
        log::get("identity")->error("an API key reply threw: {}", e.what());
      } catch (...) {
        log::get("identity")->error("an API key reply threw");
      }
    }
  }

  void run() {
    std::unique_lock lock{mtx};
    for (;;) {
      wake.wait(lock, [&] { return stopping || !reads.empty() || !touches.empty(); });
      if (stopping)
        break;
      if (!reads.empty()) {
        auto key_id = std::move(reads.front());
        reads.pop_front();
        auto replies = std::move(waiting[key_id]);
        waiting.erase(key_id);
        waiting_count -= replies.size();
        lock.unlock();
        answer(replies, read(key_id));
        lock.lock();
        continue;
      }
      auto used = std::move(touches);
      touches.clear();
      lock.unlock();
      for (const auto& key_id : used)
        record_use(key_id);
      lock.lock();
    }
    auto left = std::move(waiting);
    waiting.clear();
    reads.clear();
    lock.unlock();
    fetched stopped = storage::make_error(storage::errc::unreachable, "the API key lookup stopped");
    for (auto& [key_id, replies] : left)
      answer(replies, stopped);
  }
};

api_key_lookup::api_key_lookup(options opts) : state_(std::make_shared<state>(std::move(opts))) {
  state_->worker = std::thread{[s = state_] { s->run(); }};
}

api_key_lookup::~api_key_lookup() {
  {
    std::lock_guard guard{state_->mtx};
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->worker.get_id() == std::this_thread::get_id())
    state_->worker.detach(); // the thread holds `state` and finishes on its own
  else
    state_->worker.join();
}

bool api_key_lookup::fetch(std::string key_id, reply r) {
  {
    std::lock_guard guard{state_->mtx};
    if (state_->stopping || state_->waiting_count >= state_->opts.max_waiting)
      return false;
    auto [it, fresh] = state_->waiting.try_emplace(key_id);
    if (fresh)
      state_->reads.push_back(std::move(key_id));
    it->second.push_back(std::move(r));
    ++state_->waiting_count;
  }
  state_->wake.notify_one();
  return true;
}

void api_key_lookup::touch(std::string key_id) {
  {
    std::lock_guard guard{state_->mtx};
    if (state_->stopping || state_->touches.size() >= state_->opts.max_waiting)
      return;
    state_->touches.insert(std::move(key_id));
  }
  state_->wake.notify_one();
}

} // namespace troupe::gateway::identity
