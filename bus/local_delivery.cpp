#include "bus/local_delivery.hpp"

#include <atomic>
#include <mutex>
#include <shared_mutex>

#include "bus/subject_match.hpp"

namespace troupe::bus {

namespace {

/// Set while this thread runs a subscription's handler. A publish made from
/// inside a handler (an error reply to a rejected envelope) goes through the
/// server: delivering it here would take a second handler's lock while
/// holding the first, and two such replies crossing could deadlock.
thread_local bool in_handler = false;

/// One subscription's handler, called by the server's delivery thread and by
/// local publishers, never by two at once.
struct guarded_handler {
  std::mutex mtx;
  message_handler handler;

  void operator()(message m) {
    std::lock_guard lock{mtx};
    struct scope {
      scope() { in_handler = true; }
      ~scope() { in_handler = false; }
    } inside;
    handler(std::move(m));
  }
};

struct entry {
  uint64_t id;
  std::string pattern;
  std::string queue;
  std::shared_ptr<guarded_handler> handler;
};

} // namespace

struct local_delivery::registry {
  std::vector<std::string> prefixes;
  std::shared_mutex mtx;
  std::vector<entry> entries;
  uint64_t next_id = 0;
  std::atomic<size_t> delivered{0};

  /// The handler that should take `subject` here, if any.
  std::shared_ptr<guarded_handler> find(std::string_view subject) {
    bool direct = subject.starts_with("_INBOX.");
    for (const auto& p : prefixes)
      direct = direct || subject.starts_with(p);
    std::shared_lock lock{mtx};
    for (const auto& e : entries) {
      if (!e.queue.empty() ? e.pattern == subject
                           : direct && subject_matches(e.pattern, subject))
        return e.handler;
    }
    return nullptr;
  }
};

namespace {

class local_subscription final : public subscription {
public:
  local_subscription(subscription_ptr inner, std::weak_ptr<local_delivery::registry> reg,
                     uint64_t id)
    : inner_(std::move(inner)), reg_(std::move(reg)), id_(id) {}

  ~local_subscription() override {
    if (auto reg = reg_.lock()) {
      std::unique_lock lock{reg->mtx};
      std::erase_if(reg->entries, [this](const entry& e) { return e.id == id_; });
    }
  }

private:
  subscription_ptr inner_;
  std::weak_ptr<local_delivery::registry> reg_;
  uint64_t id_;
};

} // namespace

local_delivery::local_delivery(transport_ptr inner, std::vector<std::string> local_prefixes)
  : inner_(std::move(inner)), local_(std::make_shared<registry>()) {
  local_->prefixes = std::move(local_prefixes);
}

local_delivery::~local_delivery() = default;

caf::error local_delivery::publish(std::string_view subject, std::string_view data,
                                   std::string_view reply) {
  auto handler = in_handler ? nullptr : local_->find(subject);
  if (!handler)
    return inner_->publish(subject, data, reply);
  // The subscriber may keep the message past this call: it owns a copy.
  struct owned {
    std::string subject, reply, data;
  };
  auto copy = std::make_shared<owned>(
    owned{std::string{subject}, std::string{reply}, std::string{data}});
  message m{copy->subject, copy->reply, copy->data, copy, 0};
  ++local_->delivered;
  (*handler)(std::move(m));
  return caf::none;
}

caf::expected<subscription_ptr> local_delivery::subscribe(const std::string& subject,
                                                          const std::string& queue,
                                                          message_handler handler) {
  auto guarded = std::make_shared<guarded_handler>();
  guarded->handler = std::move(handler);
  auto inner = inner_->subscribe(subject, queue, [guarded](message m) { (*guarded)(std::move(m)); });
  if (!inner)
    return inner.error();
  std::unique_lock lock{local_->mtx};
  auto id = local_->next_id++;
  local_->entries.push_back(entry{id, subject, queue, guarded});
  return subscription_ptr{std::make_unique<local_subscription>(std::move(*inner), local_, id)};
}

std::string local_delivery::new_inbox() {
  return inner_->new_inbox();
}

link_state local_delivery::state() const noexcept {
  return inner_->state();
}

void local_delivery::on_state_change(state_handler handler) {
  inner_->on_state_change(std::move(handler));
}

caf::error local_delivery::flush(std::chrono::milliseconds timeout) {
  return inner_->flush(timeout);
}

caf::error local_delivery::drain(std::chrono::milliseconds timeout) {
  return inner_->drain(timeout);
}

size_t local_delivery::delivered_locally() const noexcept {
  return local_->delivered.load();
}

} // namespace troupe::bus
