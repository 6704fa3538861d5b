#pragma once
/// Hands what a backend or authenticator callback delivers, on any thread,
/// to the connection coroutine waiting for it.
///
/// Lifetime: a callback may outlive the request, the connection and the
/// server. It holds only the mailbox's shared state, which reaches the
/// connection's alarm through a weak_ptr and only while the server's gate is
/// open, so a late callback never touches a closed io_context.
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "actors/gateway/http/beast.hpp"

namespace troupe::gateway::http {

/// Open while the server's io_context may take work; closed by stop().
struct io_gate {
  std::mutex mutex;
  bool open = true;
};

/// What a connection's coroutine sleeps on while it waits for a callback;
/// cancelling the timer wakes it. Touched only on the connection's strand.
struct alarm {
  explicit alarm(const net::any_io_executor& ex) : timer(ex) {}
  net::steady_timer timer;

  /// On the strand: wake the sleeper so it re-checks what it waits for.
  void ring() { timer.cancel(); }
};

template <class T> class mailbox {
  struct state {
    std::mutex mutex;
    std::deque<T> items;
    bool waiting = false; // the consumer sleeps on the alarm: a new item must ring it
    std::shared_ptr<io_gate> gate;
    std::weak_ptr<alarm> wake;
  };

public:
  mailbox(std::shared_ptr<io_gate> gate, const std::shared_ptr<alarm>& wake)
      : state_(std::make_shared<state>()), wake_(wake) {
    state_->gate = std::move(gate);
    state_->wake = wake;
  }

  /// A function to call from any thread, any number of times.
  auto sender() const {
    return [s = state_](T item) {
      {
        std::lock_guard lock{s->mutex};
        s->items.push_back(std::move(item));
        // An answer that comes before the consumer waits (an authenticator
        // or backend that answers at once) needs no trip through the strand.
        if (!s->waiting)
          return;
      }
      std::lock_guard open{s->gate->mutex};
      if (!s->gate->open)
        return;
      if (auto a = s->wake.lock())
        net::post(a->timer.get_executor(), [a] { a->ring(); });
    };
  }

  /// On the connection's strand: the next item, or nullopt once `deadline`
  /// passes or `interrupted()` turns true (the alarm rang for it).
  template <class Interrupted>
  net::awaitable<std::optional<T>> next(clock::time_point deadline, Interrupted interrupted) {
    for (;;) {
      {
        std::lock_guard lock{state_->mutex};
        state_->waiting = false;
        if (!state_->items.empty()) {
          auto item = std::move(state_->items.front());
          state_->items.pop_front();
          co_return std::optional<T>{std::move(item)};
        }
        if (interrupted() || clock::now() >= deadline)
          co_return std::nullopt;
        // Set under the lock the sender takes: an item pushed after this
        // rings the alarm, and the ring, posted to this strand, runs only
        // once the wait below is registered.
        state_->waiting = true;
      }
      wake_->timer.expires_at(deadline);
      beast::error_code ec;
      co_await wake_->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
  }

private:
  std::shared_ptr<state> state_;
  std::shared_ptr<alarm> wake_;
};

} // namespace troupe::gateway::http
