#include "bus/inbound.hpp"

#include <caf/send.hpp>
#include <chrono>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "bus/dispatch.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/subjects.hpp"
#include "common/logging.hpp"
#include "messages/message_types.hpp"

namespace troupe::bus {

namespace {

/// At most `burst` log lines per second for rejections: a flood of bad
/// messages must not become a flood of log lines. Counts what it suppressed
/// so the next line that gets through says so.
class log_limiter {
public:
  static constexpr uint64_t burst = 5;

  /// 0 when this line must be dropped, else 1 + the lines suppressed since
  /// the last one that got through.
  uint64_t admit() noexcept {
    auto sec = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
                 .count();
    auto window = window_.load(std::memory_order_relaxed);
    if (sec != window && window_.compare_exchange_strong(window, sec))
      count_.store(0, std::memory_order_relaxed);
    if (count_.fetch_add(1, std::memory_order_relaxed) < burst)
      return 1 + suppressed_.exchange(0, std::memory_order_relaxed);
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }

private:
  std::atomic<int64_t> window_{0};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> suppressed_{0};
};

log_limiter& rejection_log() {
  static log_limiter limiter;
  return limiter;
}

errc code_of(const caf::error& err) noexcept {
  return err && err.category() == error_category ? static_cast<errc>(err.code()) : errc::unknown;
}

std::string context_of(const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return {};
}

prometheus::Counter* counter(prometheus::Registry* reg, const std::string& name,
                             const std::string& help) {
  if (!reg)
    return nullptr;
  return &prometheus::BuildCounter().Name(name).Help(help).Register(*reg).Add({});
}

/// Reads what it can of a rejected message to address the error reply: the
/// request id for correlation_id and, when the transport had no reply
/// subject, the envelope's own. Oversize and malformed bytes are not parsed.
troupe::v1::Envelope salvage(std::string_view bytes, errc reason) {
  troupe::v1::Envelope env;
  if (reason != errc::oversize && reason != errc::malformed)
    (void) env.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  return env;
}

} // namespace

traffic_counters::traffic_counters(prometheus::Registry* reg)
  : published_total_(counter(reg, "troupe_bus_published_total", "Envelopes published on the bus")),
    received_total_(counter(reg, "troupe_bus_received_total",
                            "Envelopes that arrived on served subjects")) {
  if (reg)
    rejected_total_ = &prometheus::BuildCounter()
                         .Name("troupe_bus_rejected_total")
                         .Help("Inbound envelopes refused by the checks, by reason")
                         .Register(*reg);
}

void traffic_counters::on_published() noexcept {
  published_.fetch_add(1, std::memory_order_relaxed);
  if (published_total_)
    published_total_->Increment();
}

void traffic_counters::on_received() noexcept {
  received_.fetch_add(1, std::memory_order_relaxed);
  if (received_total_)
    received_total_->Increment();
}

void traffic_counters::on_rejected(errc reason) {
  rejected_.fetch_add(1, std::memory_order_relaxed);
  if (rejected_total_)
    rejected_total_->Add({{"reason", std::string{to_string(reason)}}}).Increment();
}

void reject(const caf::error& err, const message& msg, transport& tr, traffic_counters& counters,
            bool answer) {
  auto reason = code_of(err);
  counters.on_rejected(reason);
  auto request = salvage(msg.data, reason);
  std::string reply_to{msg.reply.empty() ? std::string_view{request.reply_subject()} : msg.reply};
  if (auto n = rejection_log().admit())
    log::get("bus")->warn("rejected envelope on {}: {} ({}){}", msg.subject, to_string(reason),
                          context_of(err),
                          n > 1 ? fmt::format(" [{} similar lines suppressed]", n - 1)
                                : std::string{});
  if (!answer || reply_to.empty() || !valid_publish_subject(reply_to))
    return;
  auto refusal = error_reply(request, reason, context_of(err));
  // The sender can tell this answer is for it only by its own principal.
  if (request.has_principal())
    *refusal.mutable_principal() = request.principal();
  if (!tr.publish(reply_to, refusal.SerializeAsString()))
    counters.on_published();
}

replier::replier(transport_ptr transport, request_ref request,
                 std::shared_ptr<traffic_counters> counters)
  : transport_(std::move(transport)), ref_(std::move(request)), counters_(std::move(counters)) {}

caf::error replier::publish(troupe::v1::Envelope& reply, bool final) {
  if (ref_.reply_subject.empty())
    return make_error(errc::invalid_subject, "a one-way message has no reply subject");
  if (answered_.load())
    return make_error(errc::publish_failed, "this request was already answered");
  if (ref_.deadline_unix_ms != 0 && now_unix_ms() >= ref_.deadline_unix_ms)
    return make_error(errc::deadline_expired, "the requester's deadline has passed");
  reply.set_correlation_id(ref_.request_id);
  reply.set_more(!final);
  if (ref_.principal.ByteSizeLong() != 0)
    *reply.mutable_principal() = ref_.principal;
  auto wire = reply.SerializeAsString();
  if (ref_.max_bytes != 0 && wire.size() > ref_.max_bytes)
    return make_error(errc::oversize, "a reply of " + std::to_string(wire.size())
                                        + " bytes exceeds the limit of "
                                        + std::to_string(ref_.max_bytes));
  if (final && answered_.exchange(true))
    return make_error(errc::publish_failed, "this request was already answered");
  if (auto err = transport_->publish(ref_.reply_subject, wire))
    return err;
  if (counters_)
    counters_->on_published();
  return caf::none;
}

caf::error replier::send(troupe::v1::Envelope reply) {
  return publish(reply, true);
}

caf::error replier::send_partial(troupe::v1::Envelope reply) {
  return publish(reply, false);
}

namespace {

/// Accepted envelopes waiting to be handed to their actors. Delivery is
/// serial per subscription, so only one thread ever touches a batch.
struct pending_batch {
  static constexpr size_t max = 64;
  std::vector<std::pair<caf::actor, caf::message>> items;

  void hand_over() {
    // Enqueued back to back: the first wakes the actor, the rest land in its
    // mailbox while it wakes, so a burst costs one wake-up instead of one each.
    for (auto& [target, msg] : items)
      caf::anon_send(target, std::move(msg));
    items.clear();
  }
};

} // namespace

message_handler make_inbound_handler(std::shared_ptr<const dispatch> route, inbound_policy policy,
                                     transport_ptr transport,
                                     std::shared_ptr<traffic_counters> counters) {
  // One-way messages (the bulk of traffic) share one replier that refuses to
  // answer, instead of allocating one each.
  auto one_way = std::make_shared<replier>(transport, replier::request_ref{}, counters);
  auto batch = std::make_shared<pending_batch>();
  batch->items.reserve(pending_batch::max);
  return [route = std::move(route), policy = std::move(policy), transport = std::move(transport),
          counters = std::move(counters), one_way = std::move(one_way),
          batch = std::move(batch)](message msg) {
    counters->on_received();
    check_policy checks{policy.max_bytes, policy.require_principal, policy.keys.get()};
    parsed_payload payload;
    troupe::v1::Principal who;
    if (auto env = decode_and_check(msg.data, checks, now_unix_ms(), &payload, &who); !env) {
      reject(env.error(), msg, *transport, *counters);
    } else {
      std::string reply_to{msg.reply.empty() ? std::string_view{env->reply_subject()}
                                             : msg.reply};
      if (!reply_to.empty() && !valid_publish_subject(reply_to))
        reply_to.clear(); // nothing sane to answer to: treat as one-way
      inbound in;
      in.reply = reply_to.empty()
                   ? one_way
                   : std::make_shared<replier>(
                       transport,
                       replier::request_ref{reply_to, env->id(), env->deadline_unix_ms(),
                                            env->principal(), policy.max_bytes},
                       counters);
      if (env->has_principal())
        in.principal = std::move(who);
      in.reply_subject = std::move(reply_to);
      in.subject.assign(msg.subject.data(), msg.subject.size());
      auto type = env->payload_type();
      in.env = std::move(*env);
      in.payload = std::move(payload);
      if (auto routed = route->route(std::move(in))) {
        if (routed->target) // else the dispatch delivered it itself
          batch->items.emplace_back(std::move(routed->target), std::move(routed->msg));
      } else
        reject(make_error(errc::unknown_type, "this subject does not take " + type), msg,
               *transport, *counters);
    }
    // Held back only while more is already queued: a lone message (a request
    // waiting for its reply) goes on at once.
    if (msg.pending == 0 || batch->items.size() >= pending_batch::max)
      batch->hand_over();
  };
}

} // namespace troupe::bus
