#include "bus/reply_router.hpp"

#include <atomic>
#include <caf/send.hpp>
#include <charconv>
#include <map>
#include <mutex>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <unordered_map>

#include "bus/errc.hpp"
#include "messages/message_types.hpp"

namespace troupe::bus {

/// The part the transport callback needs; shared with the callback so that a
/// callback still in flight after unsubscribing never sees a dead router.
struct reply_router::table {
  std::string prefix; // "<inbox>."
  mutable std::mutex mtx;
  std::unordered_map<uint64_t, caf::actor> waiters;
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> dropped{0};
  prometheus::Counter* late_total = nullptr;

  void drop() noexcept {
    dropped.fetch_add(1, std::memory_order_relaxed);
    if (late_total)
      late_total->Increment();
  }

  void deliver(message msg) {
    uint64_t token = 0;
    auto subject = msg.subject;
    if (subject.size() <= prefix.size() || subject.substr(0, prefix.size()) != prefix) {
      drop();
      return;
    }
    auto rest = subject.substr(prefix.size());
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), token);
    if (ec != std::errc{} || end != rest.data() + rest.size()) {
      drop();
      return;
    }
    // The waiter stays registered: an answer may come in several replies,
    // and a reply its client refuses (a forgery) must not take the place of
    // the real one. The client unregisters once it accepts the final one.
    caf::actor waiter;
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (auto i = waiters.find(token); i != waiters.end())
        waiter = i->second;
    }
    if (!waiter) {
      drop();
      return;
    }
    caf::anon_send(waiter, reply_atom::value, token, std::move(msg));
  }
};

namespace {

std::mutex& registry_mutex() {
  static std::mutex mtx;
  return mtx;
}

std::map<const transport*, std::weak_ptr<reply_router>>& registry() {
  static std::map<const transport*, std::weak_ptr<reply_router>> routers;
  return routers;
}

} // namespace

caf::expected<std::shared_ptr<reply_router>> reply_router::of(const transport_ptr& transport,
                                                             prometheus::Registry* metrics) {
  if (!transport)
    return make_error(errc::not_connected, "no transport");
  std::lock_guard<std::mutex> guard{registry_mutex()};
  auto& routers = registry();
  for (auto i = routers.begin(); i != routers.end();)
    i = i->second.expired() ? routers.erase(i) : std::next(i);
  if (auto i = routers.find(transport.get()); i != routers.end())
    if (auto existing = i->second.lock())
      return existing;
  auto t = std::make_shared<table>();
  t->prefix = transport->new_inbox() + ".";
  if (metrics)
    t->late_total = &prometheus::BuildCounter()
                       .Name("troupe_bus_late_replies_total")
                       .Help("Replies that arrived after their request had ended (dropped)")
                       .Register(*metrics)
                       .Add({});
  auto sub = transport->subscribe(t->prefix + ">", std::string{},
                                  [t](message msg) { t->deliver(std::move(msg)); });
  if (!sub)
    return std::move(sub.error());
  std::shared_ptr<reply_router> router{new reply_router(transport, t, std::move(*sub))};
  routers[transport.get()] = router;
  return router;
}

reply_router::reply_router(transport_ptr transport, std::shared_ptr<table> t,
                           subscription_ptr sub)
  : transport_(std::move(transport)), table_(std::move(t)), sub_(std::move(sub)) {}

reply_router::~reply_router() {
  sub_.reset(); // unsubscribe before the waiters go
  std::lock_guard<std::mutex> guard{table_->mtx};
  table_->waiters.clear();
}

uint64_t reply_router::add(caf::actor waiter) {
  auto token = table_->next.fetch_add(1, std::memory_order_relaxed) + 1;
  std::lock_guard<std::mutex> guard{table_->mtx};
  table_->waiters.emplace(token, std::move(waiter));
  return token;
}

void reply_router::remove(uint64_t token) noexcept {
  std::lock_guard<std::mutex> guard{table_->mtx};
  table_->waiters.erase(token);
}

std::string reply_router::reply_subject(uint64_t token) const {
  return table_->prefix + std::to_string(token);
}

size_t reply_router::waiting() const {
  std::lock_guard<std::mutex> guard{table_->mtx};
  return table_->waiters.size();
}

uint64_t reply_router::dropped() const noexcept {
  return table_->dropped.load(std::memory_order_relaxed);
}

} // namespace troupe::bus
