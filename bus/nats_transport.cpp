#include "bus/nats_transport.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <nats/nats.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <thread>

#include "bus/errc.hpp"
#include "bus/subject_match.hpp"
#include "common/logging.hpp"

namespace troupe::bus {

namespace {

/// How long closing may take before we stop waiting for nats.c's closed
/// callback (it comes from the connection's event thread, normally at once).
constexpr auto close_grace = std::chrono::seconds(5);

/// nats.c's description of the last failure on this thread, for messages.
std::string last_error_text(natsStatus s) {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  std::string out = natsStatus_GetText(s);
  if (text != nullptr && *text != '\0' && last == s)
    out += std::string{": "} + text;
  return out;
}

/// Maps a nats.c status from publish/flush to the bus's codes.
caf::error to_error(natsStatus s, std::string_view what) {
  if (s == NATS_OK)
    return caf::none;
  std::string msg = std::string{what} + ": " + last_error_text(s);
  switch (s) {
  case NATS_CONNECTION_CLOSED:
    return make_error(errc::not_connected, std::move(msg));
  case NATS_INVALID_SUBJECT:
  case NATS_INVALID_QUEUE_NAME:
    return make_error(errc::invalid_subject, std::move(msg));
  case NATS_TIMEOUT:
    return make_error(errc::timeout, std::move(msg));
  default:
    return make_error(errc::publish_failed, std::move(msg));
  }
}

/// Reuses one buffer per thread to NUL-terminate subjects for nats.c, so the
/// publish path allocates nothing in the steady state.
const char* c_str(std::string& buf, std::string_view s) {
  buf.assign(s.data(), s.size());
  return buf.c_str();
}

/// Everything one subscription's callbacks touch. It lives until nats.c
/// reports (on-complete) that the handler will not run again, however the
/// subscription ended: unsubscribe, drain or connection close.
struct sub_context {
  message_handler handler;
  std::string subject;
  std::shared_ptr<sub_context> self; // released by the on-complete callback
  std::atomic<std::thread::id> delivery_thread{};
  std::mutex mtx;
  std::condition_variable cv;
  bool completed = false;
};

void on_message(natsConnection*, natsSubscription* sub, natsMsg* msg, void* closure) {
  auto* ctx = static_cast<sub_context*>(closure);
  ctx->delivery_thread.store(std::this_thread::get_id(), std::memory_order_relaxed);
  try {
    // The natsMsg is ours; its bytes are handed on without a copy and freed
    // when the last holder of `owner` lets go.
    std::shared_ptr<const void> owner{
        msg, [](const void* p) { natsMsg_Destroy(static_cast<natsMsg*>(const_cast<void*>(p))); }};
    const char* reply = natsMsg_GetReply(msg);
    const char* data = natsMsg_GetData(msg);
    int len = natsMsg_GetDataLength(msg);
    message m{natsMsg_GetSubject(msg), reply ? std::string_view{reply} : std::string_view{},
              data && len > 0 ? std::string_view{data, static_cast<size_t>(len)}
                              : std::string_view{},
              std::move(owner)};
    int queued = 0;
    if (natsSubscription_GetPending(sub, &queued, nullptr) == NATS_OK && queued > 0)
      m.pending = static_cast<size_t>(queued);
    ctx->handler(std::move(m));
  } catch (const std::exception& e) {
    log::get("bus")->error("handler for '{}' threw: {}", ctx->subject, e.what());
  } catch (...) {
    log::get("bus")->error("handler for '{}' threw a non-exception", ctx->subject);
  }
}

void on_sub_complete(void* closure) {
  auto* ctx = static_cast<sub_context*>(closure);
  auto keep = std::move(ctx->self); // may be the last reference: free after signalling
  std::lock_guard<std::mutex> guard{ctx->mtx};
  ctx->completed = true;
  ctx->cv.notify_all();
}

} // namespace

// -- connection state -----------------------------------------------------------

struct nats_transport::impl {
  natsOptions* opts = nullptr;
  natsConnection* conn = nullptr;
  std::string label; // for logs
  std::atomic<link_state> state{link_state::connecting};
  std::atomic<bool> closing{false};

  std::mutex handlers_mtx;
  std::vector<state_handler> handlers;

  prometheus::Gauge* connected_gauge = nullptr;
  prometheus::Counter* disconnects = nullptr;
  prometheus::Counter* reconnects = nullptr;
  prometheus::Counter* slow_consumers = nullptr;
  int pending_msgs_limit = 0;
  int pending_bytes_limit = 0;

  std::mutex closed_mtx;
  std::condition_variable closed_cv;
  bool closed = false;

  std::mutex drain_mtx; // one drain or close at a time

  std::shared_ptr<spdlog::logger> log = log::get("bus");

  ~impl() {
    close();
    if (conn != nullptr)
      natsConnection_Destroy(conn);
    if (opts != nullptr)
      natsOptions_Destroy(opts);
  }

  void set_state(link_state s) {
    state = s;
    std::vector<state_handler> copy;
    {
      std::lock_guard<std::mutex> guard{handlers_mtx};
      copy = handlers;
    }
    for (auto& h : copy) {
      try {
        h(s);
      } catch (const std::exception& e) {
        log->error("nats '{}': state handler threw: {}", label, e.what());
      } catch (...) {
        log->error("nats '{}': state handler threw", label);
      }
    }
  }

  bool wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{closed_mtx};
    return closed_cv.wait_for(lock, timeout, [&] { return closed; });
  }

  /// Closes at once (no drain); returns after the closed callback ran.
  void close() {
    std::lock_guard<std::mutex> guard{drain_mtx};
    if (conn == nullptr || state == link_state::closed)
      return;
    closing = true;
    natsConnection_Close(conn);
    if (!wait_closed(close_grace))
      log->warn("nats '{}': no closed callback within {}s", label, close_grace.count());
  }

  static void on_disconnected(natsConnection* nc, void* closure) {
    auto* self = static_cast<impl*>(closure);
    if (self->connected_gauge)
      self->connected_gauge->Set(0);
    // Closing also reports a disconnect first; the closed callback follows.
    if (self->closing || natsConnection_IsClosed(nc))
      return;
    if (self->disconnects)
      self->disconnects->Increment();
    self->log->warn("nats '{}': disconnected, reconnecting", self->label);
    self->set_state(link_state::reconnecting);
  }

  static void on_reconnected(natsConnection* nc, void* closure) {
    auto* self = static_cast<impl*>(closure);
    if (self->connected_gauge)
      self->connected_gauge->Set(1);
    if (self->reconnects)
      self->reconnects->Increment();
    char url[256] = {0};
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    self->log->info("nats '{}': reconnected to {}", self->label, url);
    self->set_state(link_state::connected);
  }

  /// nats.c drops messages for a subscription whose handler falls behind
  /// its pending limits; it reports that here, once per episode.
  static void on_async_error(natsConnection*, natsSubscription* sub, natsStatus err,
                             void* closure) {
    auto* self = static_cast<impl*>(closure);
    if (err != NATS_SLOW_CONSUMER) {
      // Closing and reconnects are reported by their own callbacks.
      self->log->debug("nats '{}': {}", self->label, natsStatus_GetText(err));
      return;
    }
    if (self->slow_consumers)
      self->slow_consumers->Increment();
    int64_t dropped = 0;
    if (sub != nullptr)
      (void) natsSubscription_GetDropped(sub, &dropped);
    self->log->warn("nats '{}': slow consumer on '{}', messages dropped so far: {}", self->label,
                    sub != nullptr ? natsSubscription_GetSubject(sub) : "?", dropped);
  }

  static void on_closed(natsConnection*, void* closure) {
    auto* self = static_cast<impl*>(closure);
    if (self->connected_gauge)
      self->connected_gauge->Set(0);
    self->log->info("nats '{}': closed", self->label);
    self->set_state(link_state::closed);
    // Last touch of `self`: the destructor may run as soon as it sees this.
    std::lock_guard<std::mutex> guard{self->closed_mtx};
    self->closed = true;
    self->closed_cv.notify_all();
  }
};

// -- subscriptions --------------------------------------------------------------

namespace {

class nats_subscription final : public subscription {
public:
  nats_subscription(natsSubscription* sub, std::shared_ptr<sub_context> ctx)
      : sub_(sub), ctx_(std::move(ctx)) {}

  ~nats_subscription() override {
    // Fails harmlessly when the connection is already closed; the library
    // keeps the connection object alive for as long as the subscription.
    natsSubscription_Unsubscribe(sub_);
    // Wait until the handler cannot run any more, so whatever it captured may
    // be freed after this destructor. Not from the handler itself: it would
    // wait for its own return.
    if (ctx_->delivery_thread.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
      std::unique_lock<std::mutex> lock{ctx_->mtx};
      ctx_->cv.wait_for(lock, std::chrono::seconds(2), [&] { return ctx_->completed; });
    }
    natsSubscription_Destroy(sub_);
  }

private:
  natsSubscription* sub_;
  std::shared_ptr<sub_context> ctx_;
};

} // namespace

// -- transport --------------------------------------------------------------------

nats_transport::nats_transport(std::shared_ptr<impl> state) : impl_(std::move(state)) {}

nats_transport::~nats_transport() {
  {
    // Whoever registered handlers may already be gone: the owner of the last
    // reference is tearing things down, not waiting for news.
    std::lock_guard<std::mutex> guard{impl_->handlers_mtx};
    impl_->handlers.clear();
  }
  impl_->close();
}

caf::error nats_transport::publish(std::string_view subject, std::string_view data,
                                   std::string_view reply) {
  if (!is_publish_subject(subject))
    return make_error(errc::invalid_subject, "cannot publish to '" + std::string{subject} + "'");
  if (!reply.empty() && !is_publish_subject(reply))
    return make_error(errc::invalid_subject, "bad reply subject '" + std::string{reply} + "'");
  if (data.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return make_error(errc::publish_failed, "payload too large");
  thread_local std::string subject_buf;
  thread_local std::string reply_buf;
  natsStatus s;
  if (reply.empty())
    s = natsConnection_Publish(impl_->conn, c_str(subject_buf, subject), data.data(),
                               static_cast<int>(data.size()));
  else
    s = natsConnection_PublishRequest(impl_->conn, c_str(subject_buf, subject),
                                      c_str(reply_buf, reply), data.data(),
                                      static_cast<int>(data.size()));
  return to_error(s, "publish to '" + std::string{subject} + "'");
}

caf::expected<subscription_ptr> nats_transport::subscribe(const std::string& subject,
                                                          const std::string& queue,
                                                          message_handler handler) {
  if (!is_subscribe_pattern(subject))
    return make_error(errc::invalid_subject, "cannot subscribe to '" + subject + "'");
  if (!queue.empty() && !is_queue_name(queue))
    return make_error(errc::invalid_subject, "bad queue group name '" + queue + "'");
  if (!handler)
    return make_error(errc::invalid_subject, "subscribe to '" + subject + "' without a handler");
  auto ctx = std::make_shared<sub_context>();
  ctx->handler = std::move(handler);
  ctx->subject = subject;
  natsSubscription* sub = nullptr;
  natsStatus s =
      queue.empty()
          ? natsConnection_Subscribe(&sub, impl_->conn, subject.c_str(), on_message, ctx.get())
          : natsConnection_QueueSubscribe(&sub, impl_->conn, subject.c_str(), queue.c_str(),
                                          on_message, ctx.get());
  if (s != NATS_OK) {
    auto why = "subscribe to '" + subject + "': " + last_error_text(s);
    if (s == NATS_INVALID_SUBJECT || s == NATS_INVALID_QUEUE_NAME)
      return make_error(errc::invalid_subject, std::move(why));
    return make_error(errc::not_connected, std::move(why));
  }
  ctx->self = ctx;
  s = natsSubscription_SetPendingLimits(sub, impl_->pending_msgs_limit, impl_->pending_bytes_limit);
  if (s == NATS_OK)
    s = natsSubscription_SetOnCompleteCB(sub, on_sub_complete, ctx.get());
  if (s != NATS_OK) {
    // Closed between the two calls (the connection went away): no completion
    // will be reported, so the context is deliberately kept (ctx->self) in
    // case a last callback is still running.
    natsSubscription_Destroy(sub);
    return make_error(errc::not_connected, "subscribe to '" + subject + "': connection closed");
  }
  return subscription_ptr{new nats_subscription(sub, std::move(ctx))};
}

std::string nats_transport::new_inbox() {
  natsInbox* inbox = nullptr;
  if (natsInbox_Create(&inbox) != NATS_OK || inbox == nullptr)
    throw std::bad_alloc(); // only fails when out of memory
  std::string out{inbox};
  natsInbox_Destroy(inbox);
  return out;
}

link_state nats_transport::state() const noexcept {
  return impl_->state.load();
}

void nats_transport::on_state_change(state_handler handler) {
  if (!handler)
    return;
  std::lock_guard<std::mutex> guard{impl_->handlers_mtx};
  impl_->handlers.push_back(std::move(handler));
}

caf::error nats_transport::flush(std::chrono::milliseconds timeout) {
  if (impl_->state == link_state::closed)
    return make_error(errc::not_connected, "flush: connection closed");
  auto s = natsConnection_FlushTimeout(impl_->conn, std::max<int64_t>(1, timeout.count()));
  if (s == NATS_CONNECTION_DISCONNECTED)
    return make_error(errc::timeout, "flush: reconnecting");
  return to_error(s, "flush");
}

caf::error nats_transport::drain(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  std::lock_guard<std::mutex> guard{d.drain_mtx};
  if (d.state == link_state::closed)
    return caf::none;
  d.closing = true;
  auto s = natsConnection_DrainTimeout(d.conn, std::max<int64_t>(1, timeout.count()));
  if (s != NATS_OK) {
    auto why = last_error_text(s);
    natsConnection_Close(d.conn);
    d.wait_closed(close_grace);
    if (s == NATS_CONNECTION_CLOSED)
      return caf::none;
    return make_error(errc::not_connected, "drain: " + why + "; closed without draining");
  }
  if (!d.wait_closed(timeout + close_grace)) {
    natsConnection_Close(d.conn);
    d.wait_closed(close_grace);
    return make_error(errc::timeout, "drain did not finish in time; closed");
  }
  const char* text = nullptr;
  if (natsConnection_GetLastError(d.conn, &text) == NATS_TIMEOUT)
    return make_error(errc::timeout, std::string{"drain: "} + (text ? text : "timeout"));
  return caf::none;
}

std::string nats_transport::connected_url() const {
  char url[256] = {0};
  if (natsConnection_GetConnectedUrl(impl_->conn, url, sizeof(url)) != NATS_OK)
    return {};
  return url;
}

std::shared_ptr<void> nats_transport::native_handle() const noexcept {
  return std::shared_ptr<void>{impl_, impl_->conn};
}

// -- connect ------------------------------------------------------------------------

namespace {

std::string join(const std::vector<std::string>& urls) {
  std::string out;
  for (auto& u : urls)
    out += (out.empty() ? "" : ",") + u;
  return out;
}

void register_metrics(nats_transport::impl& d, prometheus::Registry& reg,
                      const std::string& label) {
  try {
    prometheus::Labels labels{{"connection", label}};
    d.connected_gauge = &prometheus::BuildGauge()
                             .Name("troupe_nats_connected")
                             .Help("1 while the NATS connection is up, else 0")
                             .Register(reg)
                             .Add(labels);
    d.disconnects = &prometheus::BuildCounter()
                         .Name("troupe_nats_disconnects_total")
                         .Help("NATS connection losses (each starts reconnecting)")
                         .Register(reg)
                         .Add(labels);
    d.reconnects = &prometheus::BuildCounter()
                        .Name("troupe_nats_reconnects_total")
                        .Help("Successful NATS reconnects")
                        .Register(reg)
                        .Add(labels);
    d.slow_consumers = &prometheus::BuildCounter()
                            .Name("troupe_nats_slow_consumer_total")
                            .Help("Times a subscription fell behind its pending limits and the "
                                  "client dropped messages")
                            .Register(reg)
                            .Add(labels);
  } catch (const std::exception& e) {
    // A clash in the registry must not keep the node off the bus.
    d.connected_gauge = nullptr;
    d.disconnects = nullptr;
    d.reconnects = nullptr;
    d.slow_consumers = nullptr;
    d.log->error("nats '{}': cannot register metrics: {}", label, e.what());
  }
}

} // namespace

caf::expected<std::shared_ptr<nats_transport>> connect_nats(const nats_options& opts,
                                                            prometheus::Registry* metrics) {
  if (opts.urls.empty())
    return make_error(errc::not_connected, "no NATS URLs configured");
  auto d = std::make_shared<nats_transport::impl>();
  d->label = opts.name.empty() ? std::string{"default"} : opts.name;
  auto to_int = [](size_t v) {
    return static_cast<int>(std::min<size_t>(v, std::numeric_limits<int>::max()));
  };
  d->pending_msgs_limit = to_int(opts.pending_msgs_limit);
  d->pending_bytes_limit = to_int(opts.pending_bytes_limit);
  auto fail = [&](natsStatus s, std::string_view step) -> caf::error {
    return make_error(errc::not_connected, "cannot connect to NATS at " + join(opts.urls) + " ("
                                               + std::string{step} + "): " + last_error_text(s));
  };
  std::vector<const char*> urls;
  for (auto& u : opts.urls)
    urls.push_back(u.c_str());
  // Before anything else in the library: nats.c spins 2000 times on a busy
  // mutex by default, which on a node with few cores burns the CPU the
  // holder needs to let go. A node that opened the library already keeps its choice.
  static const natsStatus opened = nats_Open(0);
  (void) opened;
  natsStatus s = natsOptions_Create(&d->opts);
  if (s != NATS_OK)
    return fail(s, "options");
  auto* o = d->opts;
  auto clamp_ms = [](std::chrono::milliseconds ms) { return std::max<int64_t>(1, ms.count()); };
  if ((s = natsOptions_SetServers(o, urls.data(), static_cast<int>(urls.size()))) != NATS_OK)
    return fail(s, "urls");
  if (!opts.name.empty() && (s = natsOptions_SetName(o, opts.name.c_str())) != NATS_OK)
    return fail(s, "name");
  if ((s = natsOptions_SetTimeout(o, clamp_ms(opts.connect_timeout))) != NATS_OK
      || (s = natsOptions_SetAllowReconnect(o, true)) != NATS_OK
      || (s = natsOptions_SetMaxReconnect(o, opts.max_reconnect < 0 ? -1 : opts.max_reconnect))
             != NATS_OK
      || (s = natsOptions_SetReconnectWait(o, clamp_ms(opts.reconnect_wait))) != NATS_OK
      || (s = natsOptions_SetReconnectBufSize(
              o, static_cast<int>(std::min<size_t>(opts.reconnect_buffer_bytes,
                                                   std::numeric_limits<int>::max()))))
             != NATS_OK
      || (s = natsOptions_SetSendAsap(o, opts.send_asap)) != NATS_OK
      || (s = natsOptions_SetDisconnectedCB(o, nats_transport::impl::on_disconnected, d.get()))
             != NATS_OK
      || (s = natsOptions_SetReconnectedCB(o, nats_transport::impl::on_reconnected, d.get()))
             != NATS_OK
      || (s = natsOptions_SetClosedCB(o, nats_transport::impl::on_closed, d.get())) != NATS_OK
      || (s = natsOptions_SetErrorHandler(o, nats_transport::impl::on_async_error, d.get()))
             != NATS_OK)
    return fail(s, "options");
  if (metrics != nullptr)
    register_metrics(*d, *metrics, d->label);
  s = natsConnection_Connect(&d->conn, o);
  if (s != NATS_OK) {
    d->conn = nullptr; // nothing to close: no callback will come
    return fail(s, "connect");
  }
  d->state = link_state::connected;
  if (d->connected_gauge)
    d->connected_gauge->Set(1);
  char url[256] = {0};
  natsConnection_GetConnectedUrl(d->conn, url, sizeof(url));
  d->log->info("nats '{}': connected to {}", d->label, url);
  return std::shared_ptr<nats_transport>{new nats_transport(std::move(d))};
}

} // namespace troupe::bus
