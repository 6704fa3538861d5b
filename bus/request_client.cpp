#include "bus/request_client.hpp"

#include <algorithm>
#include <caf/send.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <vector>

#include "bus/envelope_check.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/errc.hpp"
#include "bus/subjects.hpp"

namespace troupe::bus {

namespace {

prometheus::Counter* counter(prometheus::Registry* reg, const std::string& name,
                             const std::string& help) {
  if (!reg)
    return nullptr;
  return &prometheus::BuildCounter().Name(name).Help(help).Register(*reg).Add({});
}

void bump(prometheus::Counter* c) {
  if (c)
    c->Increment();
}

} // namespace

request_client::request_client(transport_ptr transport, request_options options)
  : transport_(std::move(transport)), options_(std::move(options)) {
  auto* reg = options_.metrics;
  requests_total_ = counter(reg, "troupe_bus_requests_total", "Requests sent on the bus");
  timeouts_total_ = counter(reg, "troupe_bus_request_timeouts_total",
                            "Requests that got no reply before their deadline");
  late_total_ = counter(reg, "troupe_bus_late_replies_total",
                        "Replies that arrived after their request had ended (dropped)");
  published_total_ = counter(reg, "troupe_bus_published_total", "Envelopes published on the bus");
  rejected_ = std::make_shared<traffic_counters>(reg);
}

request_client::~request_client() {
  if (router_)
    for (const auto& [token, _] : pending_)
      router_->remove(token);
}

void request_client::request(caf::local_actor* self, std::string_view subject,
                             troupe::v1::Envelope env, caf::timespan timeout,
                             reply_callback done, call_options opts) {
  ++requests_;
  bump(requests_total_);
  if (!valid_publish_subject(subject)) {
    done(make_error(errc::invalid_subject, "cannot request on '" + std::string{subject} + "'"));
    return;
  }
  if (!router_) {
    auto router = reply_router::of(transport_, options_.metrics);
    if (!router) {
      done(std::move(router.error()));
      return;
    }
    router_ = std::move(*router);
  }
  // A day bounds the arithmetic below (timespan::max() would overflow it);
  // a negative timeout is an immediate one.
  timeout = std::clamp(timeout, caf::timespan::zero(), caf::timespan{std::chrono::hours{24}});
  auto now = now_unix_ms();
  if (env.id().empty())
    env.set_id(new_message_id());
  if (env.deadline_unix_ms() == 0)
    env.set_deadline_unix_ms(
      now + std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  if (env.deadline_unix_ms() <= now) {
    done(make_error(errc::deadline_expired, "the request's deadline passed before sending"));
    return;
  }
  self_ = self;
  // The caller's own deadline, when earlier than the timeout, ends the wait.
  auto remaining = std::min<caf::timespan>(
    timeout, std::chrono::milliseconds{env.deadline_unix_ms() - now});
  auto deadline = clock::now() + remaining;
  // Register before publishing: a synchronous transport may deliver the
  // reply before publish() returns.
  auto token = router_->add(caf::actor_cast<caf::actor>(self));
  last_token_ = token;
  auto reply_to = router_->reply_subject(token);
  env.set_reply_subject(reply_to);
  std::shared_ptr<partial_callback> partial;
  if (opts.on_partial)
    partial = std::make_shared<partial_callback>(std::move(opts.on_partial));
  pending_.emplace(token, pending_request{std::move(done), deadline, env.id(),
                                          std::move(opts.owner), std::move(partial)});
  if (auto err = transport_->publish(subject, env.SerializeAsString(), reply_to)) {
    if (auto cb = take(token))
      cb(std::move(err));
    return;
  }
  ++published_;
  bump(published_total_);
  arm(deadline);
}

void request_client::arm(clock::time_point deadline) {
  for (const auto& [id, fires] : timers_)
    if (fires <= deadline)
      return;
  auto id = ++next_timer_;
  timers_.emplace(id, deadline);
  auto delay = std::max(clock::duration::zero(), deadline - clock::now());
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self_), delay, timeout_atom::value, id);
}

reply_callback request_client::take(uint64_t token) {
  auto i = pending_.find(token);
  if (i == pending_.end())
    return {};
  auto cb = std::move(i->second.done);
  pending_.erase(i);
  if (router_)
    router_->remove(token);
  return cb;
}

void request_client::abandon(uint64_t token) {
  (void) take(token);
}

namespace {

/// A bus refusal of a request that could not be read at all: it cannot
/// carry the request's principal, because nothing of the request was parsed.
bool unreadable_refusal(const troupe::v1::Envelope& env, const parsed_payload& payload) {
  if (!is_error(env) || !payload)
    return false;
  const auto& err = static_cast<const troupe::v1::Error&>(*payload);
  return err.component() == "bus"
         && (err.code() == to_string(errc::oversize) || err.code() == to_string(errc::malformed));
}

} // namespace

void request_client::handle_reply(uint64_t token, const message& msg) {
  auto it = pending_.find(token);
  if (it == pending_.end()) {
    ++late_;
    bump(late_total_);
    return;
  }
  // NATS answers a request nobody serves with an empty 503 status message;
  // an envelope that is a real reply always carries at least its
  // correlation id, so empty bytes can only mean "no responders".
  if (msg.data.empty()) {
    if (auto cb = take(token))
      cb(make_error(errc::no_responders, "nobody serves the subject"));
    return;
  }
  auto& p = it->second;
  check_policy policy{options_.max_reply_bytes, false, options_.keys.get()};
  reply r;
  troupe::v1::Principal who;
  auto env = decode_and_check(msg.data, policy, now_unix_ms(), &r.payload, &who);
  if (!env) {
    // A reply that fails the checks is not an answer: someone else's, or a
    // forgery. The request waits for the real one.
    reject(env.error(), msg, *transport_, *rejected_, false);
    return;
  }
  if (env->correlation_id() != p.request_id) {
    reject(make_error(errc::reply_mismatch, "a reply for another request"), msg, *transport_,
           *rejected_, false);
    return;
  }
  if (p.owner && !unreadable_refusal(*env, r.payload)) {
    if (!env->has_principal()) {
      reject(make_error(errc::principal_missing, "a reply without its request's principal"), msg,
             *transport_, *rejected_, false);
      return;
    }
    if (who.tenant() != p.owner->tenant.str() || who.user() != p.owner->user.str()) {
      reject(make_error(errc::principal_mismatch, "a reply for another principal"), msg,
             *transport_, *rejected_, false);
      return;
    }
  }
  if (env->more() && !is_error(*env)) {
    if (!p.partial) {
      reject(make_error(errc::reply_mismatch, "a partial reply to a request that streams nothing"),
             msg, *transport_, *rejected_, false);
      return;
    }
    r.env = std::move(*env);
    // The callback may end this request (abandon): hold it while it runs.
    auto partial = p.partial;
    (*partial)(std::move(r));
    return;
  }
  auto cb = take(token);
  if (!cb)
    return; // the partial callback ended the request
  if (is_error(*env)) {
    cb(error_from(static_cast<const troupe::v1::Error&>(*r.payload)));
    return;
  }
  r.env = std::move(*env);
  cb(std::move(r));
}

void request_client::handle_timeout(uint64_t timer) {
  timers_.erase(timer);
  auto now = clock::now();
  std::vector<uint64_t> expired;
  auto next = clock::time_point::max();
  for (const auto& [token, p] : pending_) {
    if (p.deadline <= now)
      expired.push_back(token);
    else
      next = std::min(next, p.deadline);
  }
  std::vector<reply_callback> callbacks;
  callbacks.reserve(expired.size());
  for (auto token : expired)
    callbacks.push_back(take(token));
  if (next != clock::time_point::max())
    arm(next);
  // Callbacks last: they may start new requests.
  for (auto& cb : callbacks) {
    ++timeouts_;
    bump(timeouts_total_);
    if (cb)
      cb(make_error(errc::timeout, "no reply before the deadline"));
  }
}

} // namespace troupe::bus
