#pragma once
/// The one PostgreSQL session of a thread that owns one (a store worker, a
/// turn committer, the storage actor, the API key lookup): opened on first
/// use, reopened after it broke, so its owner outlives a database restart.
///
/// After a failed connect, `get` answers with that failure at once until a
/// backoff has passed (doubling from `min_backoff` up to `max_backoff`), so
/// an outage costs callers a fast error rather than a queue of connect
/// timeouts — unless another lazy_connection of the process has connected
/// since that failure: then the database is back, and waiting out the
/// backoff would fail a request the node already reports ready for. `with_session` runs work that is safe to repeat and runs it once
/// more on a fresh session when the held one turned out stale (the server
/// restarted, a proxy cut an idle connection): an old break never fails a
/// request made after the database is back.
///
/// A session the server has ended since its last use is noticed before it is
/// handed out (connection::notice_closed, no round trip), so a database
/// restart costs no request on a session that sat idle through it.
///
/// Not thread-safe: it belongs to the one thread that uses it.
#include <algorithm>
#include <atomic>
#include <caf/expected.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "storage/connection.hpp"

namespace troupe::storage {

struct lazy_connection_options {
  std::chrono::seconds connect_timeout{5};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{1000};
};

class lazy_connection {
public:
  using clock = std::chrono::steady_clock;

  lazy_connection(std::string url, lazy_connection_options opts)
      : url_(std::move(url)), opts_(opts) {}
  lazy_connection(std::string url, std::chrono::seconds connect_timeout)
      : lazy_connection(std::move(url), lazy_connection_options{connect_timeout}) {}

  /// The open session, or why there is none (blocks while connecting; at
  /// once while the backoff after a failed connect runs).
  caf::expected<connection*> get() { return open(false); }

  /// `f(connection&)` on the session, once more on a fresh one when the
  /// held session broke under it. `f` returns caf::error or caf::expected<T>.
  template <class F> auto with_session(F f) -> std::invoke_result_t<F, connection&> {
    bool held = holds_session();
    auto s = get();
    if (!s)
      return s.error();
    auto result = f(**s);
    if (held && (*s)->broken()) {
      auto fresh = open(true);
      if (!fresh)
        return fresh.error();
      result = f(**fresh);
    }
    return result;
  }

  /// True while an open, unbroken session is held.
  [[nodiscard]] bool holds_session() const { return conn_ && !conn_->broken(); }

  /// The last connect failure (empty once a connect succeeded).
  [[nodiscard]] const caf::error& last_failure() const noexcept { return last_failure_; }

private:
  caf::expected<connection*> open(bool ignore_backoff) {
    if (conn_)
      conn_->notice_closed();
    if (holds_session())
      return &*conn_;
    conn_.reset();
    if (!ignore_backoff && last_failure_ && clock::now() < retry_at_
        && connects_.load(std::memory_order_relaxed) == connects_at_failure_)
      return last_failure_;
    auto opened = connection::open(url_, opts_.connect_timeout);
    if (!opened) {
      last_failure_ = opened.error();
      connects_at_failure_ = connects_.load(std::memory_order_relaxed);
      backoff_ = std::clamp(backoff_ * 2, opts_.min_backoff, opts_.max_backoff);
      retry_at_ = clock::now() + backoff_; // from the failure: a connect may take long
      return last_failure_;
    }
    last_failure_ = caf::error{};
    backoff_ = std::chrono::milliseconds{0};
    connects_.fetch_add(1, std::memory_order_relaxed);
    conn_.emplace(std::move(*opened));
    return &*conn_;
  }

  std::string url_;
  lazy_connection_options opts_;
  std::optional<connection> conn_;
  caf::error last_failure_;
  clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  uint64_t connects_at_failure_ = 0;
  /// Successful connects of every lazy_connection in the process.
  static inline std::atomic<uint64_t> connects_{0};
};

} // namespace troupe::storage
