#include "bus/fake_transport.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>

#include "bus/errc.hpp"
#include "bus/subject_match.hpp"

namespace troupe::bus {

namespace {

struct fake_sub {
  std::string pattern;
  std::string queue;
  message_handler handler;
  std::atomic<bool> live{true};
};
using fake_sub_ptr = std::shared_ptr<fake_sub>;

/// A message on its way to its subscribers: one owner for all of them.
struct delivery {
  std::shared_ptr<const fake_transport::record> msg;
  std::vector<fake_sub_ptr> targets;
};

/// How deep synchronous publish -> handler -> publish chains are on this
/// thread right now.
thread_local int delivery_depth = 0;

struct depth_guard {
  depth_guard() noexcept { ++delivery_depth; }
  ~depth_guard() { --delivery_depth; }
  depth_guard(const depth_guard&) = delete;
  depth_guard& operator=(const depth_guard&) = delete;
};

std::atomic<uint64_t> inbox_counter{0};

} // namespace

struct fake_transport::shared_state {
  mutable std::mutex mtx;
  std::map<uint64_t, fake_sub_ptr> subs;
  std::map<std::string, size_t> round_robin; // queue name -> next member
  std::vector<state_handler> state_handlers;
  std::vector<record> log;
  std::deque<std::shared_ptr<const record>> held; // publishes waiting for `connected`
  std::atomic<link_state> state{link_state::connected};
  int failures_left = 0;
  bool no_responders = false;
  uint64_t next_id = 0;

  /// Picks the receivers of `msg`; the caller holds `mtx`.
  delivery route(std::shared_ptr<const record> msg) {
    delivery out;
    std::map<std::string, std::vector<fake_sub_ptr>> groups;
    for (auto& [id, sub] : subs) {
      if (!subject_matches(sub->pattern, msg->subject))
        continue;
      if (sub->queue.empty())
        out.targets.push_back(sub);
      else
        groups[sub->queue].push_back(sub);
    }
    for (auto& [queue, members] : groups)
      out.targets.push_back(members[round_robin[queue]++ % members.size()]);
    if (out.targets.empty() && !msg->reply.empty() && no_responders) {
      // nats-server's 503 status: an empty message on the reply subject.
      auto status = std::make_shared<const record>(record{msg->reply, {}, {}});
      return route_plain(std::move(status));
    }
    out.msg = std::move(msg);
    return out;
  }

  /// Like `route` without queue-group or no-responder handling: status
  /// messages go to every subscriber of the inbox.
  delivery route_plain(std::shared_ptr<const record> msg) {
    delivery out;
    for (auto& [id, sub] : subs)
      if (subject_matches(sub->pattern, msg->subject))
        out.targets.push_back(sub);
    out.msg = std::move(msg);
    return out;
  }

  /// Runs the handlers; the caller must NOT hold `mtx` (handlers re-enter).
  static void deliver(const delivery& d) {
    depth_guard guard;
    message m{d.msg->subject, d.msg->reply, d.msg->data, d.msg};
    for (auto& sub : d.targets)
      if (sub->live.load())
        sub->handler(m);
  }
};

class fake_transport::handle final : public subscription {
public:
  handle(std::weak_ptr<shared_state> state, uint64_t id, fake_sub_ptr sub)
      : state_(std::move(state)), id_(id), sub_(std::move(sub)) {}

  ~handle() override {
    sub_->live = false;
    if (auto st = state_.lock()) {
      std::lock_guard<std::mutex> guard{st->mtx};
      st->subs.erase(id_);
    }
  }

private:
  std::weak_ptr<shared_state> state_;
  uint64_t id_;
  fake_sub_ptr sub_;
};

fake_transport::fake_transport() : state_(std::make_shared<shared_state>()) {}

fake_transport::~fake_transport() = default;

caf::error fake_transport::publish(std::string_view subject, std::string_view data,
                                   std::string_view reply) {
  if (!is_publish_subject(subject))
    return make_error(errc::invalid_subject, "cannot publish to '" + std::string{subject} + "'");
  if (!reply.empty() && !is_publish_subject(reply))
    return make_error(errc::invalid_subject, "bad reply subject '" + std::string{reply} + "'");
  if (delivery_depth >= max_delivery_depth)
    return make_error(errc::publish_failed, "fake_transport: synchronous delivery deeper than "
                                                + std::to_string(max_delivery_depth));
  auto msg = std::make_shared<const record>(
      record{std::string{subject}, std::string{data}, std::string{reply}});
  delivery d;
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    if (state_->failures_left > 0) {
      --state_->failures_left;
      return make_error(errc::publish_failed, "injected failure");
    }
    auto st = state_->state.load();
    if (st == link_state::closed)
      return make_error(errc::not_connected, "fake_transport is closed");
    state_->log.push_back(*msg);
    if (st != link_state::connected) {
      state_->held.push_back(std::move(msg));
      return caf::none;
    }
    d = state_->route(std::move(msg));
  }
  shared_state::deliver(d);
  return caf::none;
}

caf::expected<subscription_ptr> fake_transport::subscribe(const std::string& subject,
                                                          const std::string& queue,
                                                          message_handler handler) {
  if (!is_subscribe_pattern(subject))
    return make_error(errc::invalid_subject, "cannot subscribe to '" + subject + "'");
  if (!queue.empty() && !is_queue_name(queue))
    return make_error(errc::invalid_subject, "bad queue group name '" + queue + "'");
  if (!handler)
    return make_error(errc::invalid_subject, "subscribe to '" + subject + "' without a handler");
  std::lock_guard<std::mutex> guard{state_->mtx};
  if (state_->state.load() == link_state::closed)
    return make_error(errc::not_connected, "fake_transport is closed");
  auto sub = std::make_shared<fake_sub>();
  sub->pattern = subject;
  sub->queue = queue;
  sub->handler = std::move(handler);
  auto id = ++state_->next_id;
  state_->subs.emplace(id, sub);
  return subscription_ptr{new handle(state_, id, std::move(sub))};
}

std::string fake_transport::new_inbox() {
  return "_INBOX." + std::to_string(++inbox_counter);
}

link_state fake_transport::state() const noexcept {
  return state_->state.load();
}

void fake_transport::on_state_change(state_handler handler) {
  if (!handler)
    return;
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->state_handlers.push_back(std::move(handler));
}

caf::error fake_transport::flush(std::chrono::milliseconds) {
  switch (state_->state.load()) {
  case link_state::connected:
    return caf::none;
  case link_state::closed:
    return make_error(errc::not_connected, "fake_transport is closed");
  default:
    return make_error(errc::timeout, "fake_transport: no server while not connected");
  }
}

caf::error fake_transport::drain(std::chrono::milliseconds) {
  size_t dropped = 0;
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    if (state_->state.load() == link_state::closed)
      return caf::none;
    dropped = state_->held.size();
  }
  set_state(link_state::closed);
  if (dropped > 0)
    return make_error(errc::timeout, "fake_transport: drained while not connected, "
                                         + std::to_string(dropped) + " held publishes dropped");
  return caf::none;
}

void fake_transport::set_state(link_state s) {
  std::vector<delivery> resend;
  std::vector<state_handler> handlers;
  {
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->state = s;
    if (s == link_state::connected) {
      for (auto& msg : state_->held)
        resend.push_back(state_->route(msg));
      state_->held.clear();
    } else if (s == link_state::closed) {
      state_->held.clear();
    }
    handlers = state_->state_handlers;
  }
  for (auto& d : resend)
    shared_state::deliver(d);
  for (auto& h : handlers)
    h(s);
}

void fake_transport::fail_publishes(int n) {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->failures_left = n > 0 ? n : 0;
}

void fake_transport::emulate_no_responders(bool on) {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->no_responders = on;
}

std::vector<fake_transport::record> fake_transport::published() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->log;
}

void fake_transport::clear_published() {
  std::lock_guard<std::mutex> guard{state_->mtx};
  state_->log.clear();
}

size_t fake_transport::subscriptions() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->subs.size();
}

} // namespace troupe::bus
