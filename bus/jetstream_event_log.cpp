#include "bus/jetstream_event_log.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <nats/nats.h>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/errc.hpp"
#include "bus/subject_match.hpp"
#include "common/logging.hpp"

namespace troupe::bus {

// Order within a group: at most ONE event of a group is ever in flight; the
// next is published only once the previous one is acknowledged (stored, or a
// duplicate of a stored copy). Pipelining a group would be faster, but an
// outage breaks it: event k's attempt times out while k+1's goes through, and
// k's retry is then stored after k+1. With one in flight, every event of the
// group that precedes k is stored before k is even sent, and a stale copy of
// an earlier event can only arrive as a duplicate. Groups are independent, so
// many groups are in flight at once (up to max_in_flight).

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// How long past an attempt's own timeout we wait for nats.c to report it
/// before counting it lost: nats.c reports nothing for attempts pending when
/// the connection is closed.
constexpr auto lost_attempt_grace = 1s;

enum class phase : uint8_t {
  queued,    // behind an earlier event of its group
  ready,     // the group's head, waiting for a slot or the connection
  in_flight, // an attempt is with nats.c
  backoff,   // the last attempt failed; a retry is scheduled
};

enum class timer_kind : uint8_t { deadline, retry, lost_attempt };

struct timer {
  timer_kind kind;
  uint64_t id;
};

using timer_map = std::multimap<clock::time_point, timer>;

struct entry {
  event_record rec;
  phase state = phase::queued;
  uint32_t attempts = 0;
  uint32_t failures = 0;
  natsMsg* msg = nullptr; // the attempt in flight (owned by nats.c then)
  errc last_code = errc::timeout;
  std::string last_why;
  timer_map::iterator deadline_timer;
  timer_map::iterator step_timer; // retry or lost_attempt; timers.end() when none
};

struct group_state {
  std::deque<uint64_t> events; // append order; only the front is ever in flight
  std::optional<errc> failed;  // set once an event of the group failed
  std::string failure;
};

/// A `done` to call once the lock is released.
struct outcome {
  std::function<void(caf::error)> done;
  caf::error err;
};

struct failure {
  errc code;
  std::string why;
  bool permanent = false; // retrying cannot help
};

failure attempt_failure(natsStatus s, jsErrCode jerr, const char* text, uint32_t attempt) {
  std::string why = "attempt " + std::to_string(attempt) + ": " + natsStatus_GetText(s);
  if (text != nullptr && *text != '\0' && std::string_view{text} != natsStatus_GetText(s))
    why += std::string{" ("} + text + ")";
  if (jerr != 0)
    why += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  switch (s) {
  case NATS_TIMEOUT:
    return {errc::timeout, "no acknowledgement, " + why};
  case NATS_NO_RESPONDERS:
    // No stream takes the subject, or JetStream is not up (yet): the latter
    // passes, so it is retried like the rest.
    return {errc::jetstream_error, "no JetStream responder, " + why};
  case NATS_CONNECTION_CLOSED:
    return {errc::not_connected, why, true};
  case NATS_CONNECTION_DISCONNECTED:
  case NATS_NOT_YET_CONNECTED:
  case NATS_IO_ERROR:
  case NATS_STALE_CONNECTION:
    return {errc::not_connected, why};
  case NATS_INVALID_SUBJECT:
    return {errc::invalid_subject, why, true};
  case NATS_MAX_PAYLOAD:
    return {errc::publish_failed, why, true};
  case NATS_ERR:
    return {errc::jetstream_error, why};
  default:
    return {errc::publish_failed, why};
  }
}

std::string sync_error_text() {
  natsStatus last = NATS_OK;
  const char* text = nats_GetLastError(&last);
  return text != nullptr ? std::string{text} : std::string{};
}

// -- routing acknowledgements -----------------------------------------------------

struct core;

/// nats.c may call the ack handler until its context is freed, which can be
/// after jsCtx_Destroy returns (a call in progress on its delivery thread),
/// so the handler's closure is a number, not a pointer: it finds the log
/// here, or finds nothing once the log is going away. A handler that found
/// the log holds it `active` until it returns, and the log waits for that.
class handler_registry {
public:
  static handler_registry& get() {
    // Never destroyed: nats.c threads may still call in during exit.
    static auto* instance = new handler_registry;
    return *instance;
  }
  uintptr_t add(core* c) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto handle = next_++;
    logs_.emplace(handle, c);
    return handle;
  }
  void remove(uintptr_t handle) {
    std::lock_guard<std::mutex> guard{mtx_};
    logs_.erase(handle);
  }
  /// The log, marked active, or nullptr.
  core* enter(uintptr_t handle);

private:
  std::mutex mtx_;
  uintptr_t next_ = 1;
  std::unordered_map<uintptr_t, core*> logs_;
};

// -- the log's state -------------------------------------------------------------------

struct core {
  jetstream_event_log_options opts;
  std::shared_ptr<spdlog::logger> log = troupe::log::get("bus");

  std::mutex mtx;
  std::condition_variable wake; // the worker: something changed
  bool poked = false;
  bool stopping = false;
  std::condition_variable idle; // the destructor: no handler inside
  std::atomic<int> active_handlers{0};

  uint64_t next_id = 1;
  std::unordered_map<uint64_t, entry> entries;
  std::unordered_map<std::string, group_state> groups;
  std::deque<uint64_t> ready; // may hold ids no longer ready: checked when taken
  timer_map timers;
  std::deque<std::pair<clock::time_point, std::string>> forget; // failed groups, oldest first
  std::vector<outcome> doomed; // appends to failed groups: answered by the worker
  std::unordered_map<natsMsg*, uint64_t> by_msg;
  std::size_t in_flight = 0;

  std::atomic<uint64_t> published{0}, acked{0}, duplicates{0}, retries{0}, failed{0};

  explicit core(jetstream_event_log_options o) : opts(o) {}

  void poke() {
    poked = true;
    wake.notify_one();
  }

  clock::duration pause_after(uint32_t failures) const {
    auto pause = std::chrono::duration_cast<clock::duration>(opts.retry_initial);
    auto cap = std::chrono::duration_cast<clock::duration>(opts.retry_max);
    for (uint32_t i = 1; i < failures && pause < cap; ++i)
      pause *= 2;
    return std::min(pause, cap);
  }

  void set_step_timer(entry& e, uint64_t id, clock::time_point at, timer_kind kind) {
    clear_step_timer(e);
    e.step_timer = timers.emplace(at, timer{kind, id});
  }
  void clear_step_timer(entry& e) {
    if (e.step_timer != timers.end()) {
      timers.erase(e.step_timer);
      e.step_timer = timers.end();
    }
  }

  void make_ready(uint64_t id, entry& e) {
    clear_step_timer(e);
    e.state = phase::ready;
    ready.push_back(id);
  }

  /// Ends the attempt in flight; nats.c's report of it, if one still comes,
  /// is ignored.
  void drop_attempt(entry& e) {
    if (e.msg != nullptr) {
      by_msg.erase(e.msg);
      e.msg = nullptr;
    }
    --in_flight;
    e.state = phase::backoff;
  }

  /// Removes the entry and answers it; the caller removes it from its group.
  void finish(uint64_t id, caf::error err, std::vector<outcome>& out) {
    auto it = entries.find(id);
    auto& e = it->second;
    if (e.state == phase::in_flight)
      drop_attempt(e);
    if (e.deadline_timer != timers.end())
      timers.erase(e.deadline_timer);
    clear_step_timer(e);
    if (err)
      failed.fetch_add(1, std::memory_order_relaxed);
    else
      acked.fetch_add(1, std::memory_order_relaxed);
    out.push_back({std::move(e.rec.done), std::move(err)});
    entries.erase(it);
  }

  void mark_failed(const std::string& group_name, group_state& g, errc code,
                   const std::string& why) {
    g.failed = code;
    g.failure = "an earlier event of group '" + group_name + "' failed: " + why;
    forget.emplace_back(clock::now() + opts.failed_group_memory, group_name);
    log->debug("event log: group '{}' failed ({}): {}", group_name, to_string(code), why);
  }

  /// Fails `id` with (code, why) and every later event of its group, and
  /// marks the group failed so that later appends fail too: no gaps.
  void fail_from(std::string group_name, uint64_t id, errc code, const std::string& why,
                 std::vector<outcome>& out) {
    auto git = groups.find(group_name);
    auto& g = git->second;
    auto pos = std::find(g.events.begin(), g.events.end(), id);
    if (!g.failed)
      mark_failed(group_name, g, code, why);
    bool first = true;
    for (auto it = pos; it != g.events.end(); ++it) {
      finish(*it, make_error(code, first ? why : g.failure), out);
      first = false;
    }
    g.events.erase(pos, g.events.end());
  }

  /// The attempt of `id` failed: retry after a pause, or fail when the
  /// retry could not start before the deadline.
  void attempt_failed(uint64_t id, entry& e, failure f, clock::time_point now,
                      std::vector<outcome>& out) {
    e.state = phase::backoff;
    ++e.failures;
    e.last_code = f.code;
    e.last_why = f.why;
    auto at = now + pause_after(e.failures);
    if (f.permanent || at >= e.rec.deadline) {
      fail_from(e.rec.group, id, f.code,
                f.permanent ? f.why
                            : f.why + "; deadline reached after " + std::to_string(e.failures)
                                  + " failed attempt(s)",
                out);
      return;
    }
    retries.fetch_add(1, std::memory_order_relaxed);
    set_step_timer(e, id, at, timer_kind::retry);
  }

  /// From nats.c's delivery thread (via the registry).
  void acknowledged(natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae) {
    std::vector<outcome> out;
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto found = by_msg.find(msg);
      if (found == by_msg.end())
        return; // an attempt we stopped waiting for
      auto id = found->second;
      auto& e = entries.at(id);
      drop_attempt(e);
      clear_step_timer(e);
      if (pa != nullptr) {
        if (pa->Duplicate)
          duplicates.fetch_add(1, std::memory_order_relaxed);
        auto group_name = e.rec.group;
        auto& g = groups.at(group_name);
        g.events.pop_front(); // `id`: only the front is ever in flight
        finish(id, caf::none, out);
        if (!g.events.empty())
          make_ready(g.events.front(), entries.at(g.events.front()));
        else if (!g.failed)
          groups.erase(group_name);
      } else {
        auto f = pae != nullptr ? attempt_failure(pae->Err, pae->ErrCode, pae->ErrText, e.attempts)
                                : failure{errc::jetstream_error, "attempt failed without a reason"};
        attempt_failed(id, e, std::move(f), clock::now(), out);
      }
      poke(); // a slot is free, or a timer changed
    }
    run(out);
  }

  void leave() {
    std::lock_guard<std::mutex> guard{mtx};
    if (--active_handlers == 0)
      idle.notify_all();
  }

  void run(std::vector<outcome>& out) {
    for (auto& o : out) {
      try {
        if (o.done)
          o.done(std::move(o.err));
      } catch (const std::exception& ex) {
        log->error("event log: a done callback threw: {}", ex.what());
      } catch (...) {
        log->error("event log: a done callback threw");
      }
    }
    out.clear();
  }
};

core* handler_registry::enter(uintptr_t handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = logs_.find(handle);
  if (it == logs_.end())
    return nullptr;
  ++it->second->active_handlers;
  return it->second;
}

void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  if (core* c = handler_registry::get().enter(reinterpret_cast<uintptr_t>(closure))) {
    c->acknowledged(msg, pa, pae);
    c->leave();
  }
  natsMsg_Destroy(msg); // the ack handler owns the published message
}

/// One attempt prepared under the lock and handed to nats.c outside it.
struct job {
  uint64_t id;
  natsMsg* msg;
  int64_t max_wait_ms;
};

} // namespace

// -- the log ---------------------------------------------------------------------------

struct jetstream_event_log::impl {
  std::shared_ptr<void> conn; // keeps the connection object alive for js
  jsCtx* js = nullptr;
  uintptr_t handle = 0;
  core c;
  std::thread worker;

  explicit impl(jetstream_event_log_options o) : c(o) {}

  natsConnection* nc() const { return static_cast<natsConnection*>(conn.get()); }

  void append(event_record ev) {
    std::lock_guard<std::mutex> guard{c.mtx};
    // A refused event fails its group like any failed event: storing the
    // group's later events would leave a gap.
    auto reject = [&](errc code, std::string why) {
      auto& g = c.groups[ev.group];
      if (!g.failed)
        c.mark_failed(ev.group, g, code, why);
      c.doomed.push_back({std::move(ev.done), make_error(code, std::move(why))});
      c.poke();
    };
    if (!is_publish_subject(ev.subject))
      return reject(errc::invalid_subject, "cannot publish an event to '" + ev.subject + "'");
    if (ev.data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      return reject(errc::publish_failed, "event payload too large");
    if (ev.msg_id.empty())
      return reject(errc::publish_failed, "an event needs a msg_id (its de-duplication key)");
    auto& g = c.groups[ev.group];
    if (g.failed) {
      c.doomed.push_back({std::move(ev.done), make_error(*g.failed, g.failure)});
      c.poke();
      return;
    }
    auto id = c.next_id++;
    auto deadline = ev.deadline;
    auto& e = c.entries[id];
    e.rec = std::move(ev);
    e.deadline_timer = c.timers.emplace(deadline, timer{timer_kind::deadline, id});
    e.step_timer = c.timers.end();
    g.events.push_back(id);
    if (g.events.size() == 1)
      c.make_ready(id, e);
    c.poke();
  }

  void run_worker() {
    std::vector<outcome> out;
    std::vector<job> jobs;
    std::unique_lock<std::mutex> lk{c.mtx};
    while (!c.stopping) {
      auto now = clock::now();
      fire_timers(now, out);
      forget_groups(now);
      std::move(c.doomed.begin(), c.doomed.end(), std::back_inserter(out));
      c.failed.fetch_add(c.doomed.size(), std::memory_order_relaxed);
      c.doomed.clear();
      if (!c.ready.empty() && c.in_flight < c.opts.max_in_flight) {
        lk.unlock();
        auto status = natsConnection_Status(nc());
        lk.lock();
        now = clock::now();
        if (status == NATS_CONN_STATUS_CONNECTED)
          prepare(now, jobs, out);
        else
          hold_back(status, now, out);
      }
      if (!jobs.empty() || !out.empty()) {
        lk.unlock();
        publish(jobs);
        c.run(out);
        lk.lock();
        continue; // look again: time passed and handlers ran
      }
      if (c.poked) {
        c.poked = false;
        continue;
      }
      auto next = next_wakeup();
      auto woken = [&] { return c.stopping || c.poked; };
      if (next)
        c.wake.wait_until(lk, *next, woken);
      else
        c.wake.wait(lk, woken);
      c.poked = false;
    }
  }

  std::optional<clock::time_point> next_wakeup() const {
    std::optional<clock::time_point> next;
    if (!c.timers.empty())
      next = c.timers.begin()->first;
    if (!c.forget.empty() && (!next || c.forget.front().first < *next))
      next = c.forget.front().first;
    return next;
  }

  void fire_timers(clock::time_point now, std::vector<outcome>& out) {
    while (!c.timers.empty() && c.timers.begin()->first <= now) {
      auto it = c.timers.begin();
      auto t = it->second;
      auto& e = c.entries.at(t.id); // an entry's timers go with it
      switch (t.kind) {
      case timer_kind::retry:
        c.make_ready(t.id, e); // erases the timer
        break;
      case timer_kind::lost_attempt:
        c.clear_step_timer(e);
        c.drop_attempt(e);
        c.attempt_failed(t.id, e,
                         {errc::not_connected, "attempt " + std::to_string(e.attempts)
                                                   + ": the client never reported it"},
                         now, out);
        break;
      case timer_kind::deadline:
        if (e.state == phase::in_flight) {
          // Its attempt ends by the deadline (max wait is capped to it) and
          // is answered then; the lost-attempt timer covers a silent client.
          c.timers.erase(it);
          e.deadline_timer = c.timers.end();
          break;
        }
        if (e.failures > 0)
          c.fail_from(e.rec.group, t.id, e.last_code,
                      e.last_why + "; deadline reached after " + std::to_string(e.failures)
                          + " failed attempt(s)",
                      out);
        else
          c.fail_from(e.rec.group, t.id, errc::timeout,
                      e.state == phase::queued
                          ? "deadline passed while queued behind an earlier event of its group"
                          : "deadline passed before it could be published",
                      out);
        break;
      }
    }
  }

  void forget_groups(clock::time_point now) {
    while (!c.forget.empty() && c.forget.front().first <= now) {
      auto name = std::move(c.forget.front().second);
      c.forget.pop_front();
      auto it = c.groups.find(name);
      if (it == c.groups.end())
        continue;
      if (it->second.events.empty())
        c.groups.erase(it);
      else // its head (sent before the failure) is still being answered
        c.forget.emplace_back(now + c.opts.failed_group_memory, std::move(name));
    }
  }

  /// Connected: turns ready heads into attempts while slots are free.
  void prepare(clock::time_point now, std::vector<job>& jobs, std::vector<outcome>& out) {
    while (!c.ready.empty() && c.in_flight < c.opts.max_in_flight) {
      auto id = c.ready.front();
      c.ready.pop_front();
      auto it = c.entries.find(id);
      if (it == c.entries.end() || it->second.state != phase::ready)
        continue;
      auto& e = it->second;
      if (e.rec.deadline <= now) {
        c.fail_from(e.rec.group, id, errc::timeout, "deadline passed before it could be published",
                    out);
        continue;
      }
      natsMsg* msg = nullptr;
      auto s = natsMsg_Create(&msg, e.rec.subject.c_str(), nullptr, e.rec.data.data(),
                              static_cast<int>(e.rec.data.size()));
      if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "Nats-Msg-Id", e.rec.msg_id.c_str());
      ++e.attempts;
      if (s != NATS_OK) {
        natsMsg_Destroy(msg);
        c.attempt_failed(id, e,
                         attempt_failure(s, jsErrCode{}, sync_error_text().c_str(), e.attempts),
                         now, out);
        continue;
      }
      auto wait = std::min<clock::duration>(c.opts.ack_timeout, e.rec.deadline - now);
      auto wait_ms =
          std::max<int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(wait).count());
      e.state = phase::in_flight;
      e.msg = msg;
      c.by_msg.emplace(msg, id);
      ++c.in_flight;
      c.set_step_timer(e, id, now + std::chrono::milliseconds{wait_ms} + lost_attempt_grace,
                       timer_kind::lost_attempt);
      jobs.push_back({id, msg, wait_ms});
    }
  }

  /// Not connected: ready heads wait a pause instead of filling the
  /// reconnect buffer with attempts that would mostly time out.
  void hold_back(natsConnStatus status, clock::time_point now, std::vector<outcome>& out) {
    auto pending = std::move(c.ready);
    c.ready.clear();
    for (auto id : pending) {
      auto it = c.entries.find(id);
      if (it == c.entries.end() || it->second.state != phase::ready)
        continue;
      bool closed = status == NATS_CONN_STATUS_CLOSED;
      c.attempt_failed(id, it->second,
                       {errc::not_connected,
                        closed ? "the connection is closed" : "the connection is down", closed},
                       now, out);
    }
  }

  /// Outside the lock: nats.c may write to the socket here.
  void publish(std::vector<job>& jobs) {
    for (auto& j : jobs) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = j.max_wait_ms;
      natsMsg* msg = j.msg;
      auto s = js_PublishMsgAsync(js, &msg, &po);
      c.published.fetch_add(1, std::memory_order_relaxed);
      if (s == NATS_OK)
        continue;
      // Refused: no report will come and the message is still ours.
      auto why = sync_error_text();
      std::vector<outcome> out;
      {
        std::lock_guard<std::mutex> guard{c.mtx};
        if (auto found = c.by_msg.find(j.msg); found != c.by_msg.end()) {
          // The id is copied: drop_attempt erases `found`.
          auto id = found->second;
          auto& e = c.entries.at(id);
          c.clear_step_timer(e);
          c.drop_attempt(e);
          c.attempt_failed(id, e, attempt_failure(s, jsErrCode{}, why.c_str(), e.attempts),
                           clock::now(), out);
        }
      }
      natsMsg_Destroy(msg);
      c.run(out);
    }
    jobs.clear();
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> guard{c.mtx};
      c.stopping = true;
      c.wake.notify_all();
    }
    if (worker.joinable())
      worker.join();
    handler_registry::get().remove(handle);
    {
      std::unique_lock<std::mutex> lk{c.mtx};
      c.idle.wait(lk, [&] { return c.active_handlers == 0; });
    }
    // No handler can reach us now; the context may still hold attempts.
    if (js != nullptr)
      jsCtx_Destroy(js);
    js = nullptr;
    std::vector<outcome> out;
    {
      std::lock_guard<std::mutex> guard{c.mtx};
      c.by_msg.clear(); // their messages went with the context
      for (auto& [id, e] : c.entries) {
        c.failed.fetch_add(1, std::memory_order_relaxed);
        out.push_back({std::move(e.rec.done),
                       make_error(errc::not_connected,
                                  "the event log was closed before the event was acknowledged")});
      }
      c.failed.fetch_add(c.doomed.size(), std::memory_order_relaxed);
      std::move(c.doomed.begin(), c.doomed.end(), std::back_inserter(out));
      c.doomed.clear();
      c.entries.clear();
      c.groups.clear();
      c.ready.clear();
      c.timers.clear();
    }
    c.run(out);
  }
};

jetstream_event_log::jetstream_event_log(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

jetstream_event_log::~jetstream_event_log() {
  impl_->shutdown();
}

void jetstream_event_log::append(event_record ev) {
  impl_->append(std::move(ev));
}

event_log_stats jetstream_event_log::stats() const noexcept {
  auto& c = impl_->c;
  constexpr auto r = std::memory_order_relaxed;
  return {c.published.load(r), c.acked.load(r), c.duplicates.load(r), c.retries.load(r),
          c.failed.load(r)};
}

caf::expected<event_log_ptr> make_jetstream_event_log(const nats_transport& transport,
                                                      jetstream_event_log_options opts) {
  if (opts.ack_timeout.count() < 1 || opts.retry_initial.count() < 1
      || opts.retry_max < opts.retry_initial || opts.max_in_flight < 1
      || opts.failed_group_memory.count() < 0)
    return make_error(errc::jetstream_error,
                      "event log: ack_timeout, retry_initial and max_in_flight must be positive "
                      "and retry_max at least retry_initial");
  auto p = std::make_unique<jetstream_event_log::impl>(opts);
  p->conn = transport.native_handle();
  p->handle = handler_registry::get().add(&p->c);
  jsOptions o;
  jsOptions_Init(&o);
  o.PublishAsync.AckHandler = on_ack;
  o.PublishAsync.AckHandlerClosure = reinterpret_cast<void*>(p->handle);
  // 0: nats.c never stalls a publish. max_in_flight is the bound; nats.c's
  // own count runs behind ours (it drops an attempt only after our handler
  // returns, and keeps attempts we stopped waiting for), so any MaxPending
  // near max_in_flight could make it wait StallWait (200 ms) in a publish.
  o.PublishAsync.MaxPending = 0;
  auto s = natsConnection_JetStream(&p->js, p->nc(), &o);
  if (s != NATS_OK) {
    handler_registry::get().remove(p->handle);
    p->js = nullptr;
    return make_error(errc::not_connected,
                      std::string{"event log: cannot open a JetStream context: "}
                          + natsStatus_GetText(s));
  }
  auto* raw = p.get();
  raw->worker = std::thread{[raw] { raw->run_worker(); }};
  return event_log_ptr{std::make_shared<jetstream_event_log>(std::move(p))};
}

} // namespace troupe::bus
