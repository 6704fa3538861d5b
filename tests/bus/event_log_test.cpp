#include <atomic>
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bus/jetstream.hpp"
#include "bus/jetstream_event_log.hpp"
#include "tests/bus/transport_test_support.hpp"

using namespace troupe;
using namespace troupe::test;
using clock_type = std::chrono::steady_clock;

namespace {

const std::string stream_name = "EVENTS";

bus::jetstream open_js(const bus::nats_transport& t) {
  auto js = bus::jetstream::open(t);
  if (!js)
    FAIL("jetstream::open: " << caf::to_string(js.error()));
  return std::move(*js);
}

void ensure_events_stream(bus::jetstream& js) {
  bus::stream_config cfg;
  cfg.name = stream_name;
  cfg.subjects = {"ev.>"};
  cfg.max_age = std::chrono::hours(1);
  cfg.duplicate_window = std::chrono::minutes(2);
  auto err = js.ensure_stream(cfg);
  if (err)
    FAIL("ensure_stream: " << caf::to_string(err));
}

std::shared_ptr<bus::jetstream_event_log> make_log(const bus::nats_transport& t,
                                                   bus::jetstream_event_log_options opts = {}) {
  auto log = bus::make_jetstream_event_log(t, opts);
  if (!log)
    FAIL("make_jetstream_event_log: " << caf::to_string(log.error()));
  auto typed = std::dynamic_pointer_cast<bus::jetstream_event_log>(*log);
  REQUIRE(typed);
  return typed;
}

/// A nats-server with the events stream ("ev.>") and a connection to it.
struct stream_server {
  nats_server srv;
  std::shared_ptr<bus::nats_transport> t = connect_to(srv);
  bus::jetstream js = open_js(*t);
  stream_server() { ensure_events_stream(js); }
};

/// What became of every event appended through it; safe across threads.
class ledger {
public:
  struct event {
    std::string group;
    int seq = 0;
    std::string msg_id;
    clock_type::time_point appended;
    clock_type::time_point deadline;
    int calls = 0;
    bool ok = false;
    bus::errc code = bus::errc::unknown;
    clock_type::time_point answered;
  };

  /// A record for event `seq` of `group`, data "group|seq", msg id "group-seq".
  bus::event_record record(const std::string& group, int seq, std::chrono::milliseconds ttl,
                           std::string msg_id = {}) {
    auto now = clock_type::now();
    if (msg_id.empty())
      msg_id = group + "-" + std::to_string(seq);
    size_t index;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      index = events_.size();
      auto& e = events_.emplace_back();
      e.group = group;
      e.seq = seq;
      e.msg_id = msg_id;
      e.appended = now;
      e.deadline = now + ttl;
    }
    bus::event_record ev;
    ev.group = group;
    ev.subject = "ev." + group;
    ev.data = group + "|" + std::to_string(seq);
    ev.msg_id = msg_id;
    ev.deadline = now + ttl;
    ev.done = [this, index](caf::error err) {
      auto at = clock_type::now();
      std::lock_guard<std::mutex> guard{mtx_};
      auto& e = events_[index];
      ++e.calls;
      e.ok = !err;
      if (err && err.category() == bus::error_category)
        e.code = static_cast<bus::errc>(err.code());
      e.answered = at;
      ++answered_;
    };
    return ev;
  }

  size_t answered() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return answered_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return events_.size();
  }
  bool all_answered(std::chrono::milliseconds timeout) const {
    return wait_until(timeout, [&] { return answered() == size(); });
  }
  std::deque<event> events() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return events_;
  }
  size_t count_if(const auto& pred) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<size_t>(std::count_if(events_.begin(), events_.end(), pred));
  }

private:
  mutable std::mutex mtx_;
  std::deque<event> events_; // stable references: done callbacks index it
  size_t answered_ = 0;
};

struct stored {
  std::string msg_id;
  std::string data;
};

/// Every message of the stream in stream order. Fetches until `expected`
/// arrived, then once more briefly: duplicates would already be stored.
std::vector<stored> read_stream(bus::jetstream& js, size_t expected) {
  static std::atomic<int> readers{0};
  auto consumer = js.pull_consumer(stream_name, "reader" + std::to_string(++readers), "ev.>");
  if (!consumer)
    FAIL("pull_consumer: " << caf::to_string(consumer.error()));
  std::vector<stored> out;
  auto fetch_into = [&](std::chrono::milliseconds timeout) {
    auto msgs = consumer->fetch(512, timeout);
    if (!msgs)
      FAIL("fetch: " << caf::to_string(msgs.error()));
    for (auto& m : *msgs) {
      out.push_back({m.header("Nats-Msg-Id").value_or(""), std::string{m.data()}});
      (void)m.ack();
    }
    return msgs->size();
  };
  auto until = clock_type::now() + 20s;
  while (out.size() < expected && clock_type::now() < until)
    fetch_into(1000ms);
  while (fetch_into(200ms) > 0) {
  }
  return out;
}

/// Per group, the sequence numbers in the order the stream holds them.
std::map<std::string, std::vector<int>> by_group(const std::vector<stored>& msgs) {
  std::map<std::string, std::vector<int>> out;
  for (auto& m : msgs) {
    auto bar = m.data.find('|');
    out[m.data.substr(0, bar)].push_back(std::stoi(m.data.substr(bar + 1)));
  }
  return out;
}

std::map<std::string, int> id_counts(const std::vector<stored>& msgs) {
  std::map<std::string, int> out;
  for (auto& m : msgs)
    ++out[m.msg_id];
  return out;
}

bool is_prefix_order(const std::vector<int>& seqs) {
  for (size_t i = 0; i < seqs.size(); ++i)
    if (seqs[i] != static_cast<int>(i))
      return false;
  return true;
}

} // namespace

TEST_CASE("event log: many groups appended concurrently are each stored once, in append order",
          "[event_log][integration]") {
  stream_server env;
  auto& [srv, t, js] = env;
  bus::jetstream_event_log_options opts;
  opts.max_in_flight = 16; // fewer slots than groups: most wait in the log's queue
  auto log = make_log(*t, opts);
  ledger book;
  constexpr int threads = 4, groups_per_thread = 10, events_per_group = 50;
  std::vector<std::thread> appenders;
  for (int th = 0; th < threads; ++th)
    appenders.emplace_back([&, th] {
      for (int seq = 0; seq < events_per_group; ++seq)
        for (int g = 0; g < groups_per_thread; ++g)
          log->append(book.record("g" + std::to_string(th) + "_" + std::to_string(g), seq, 30s));
    });
  for (auto& a : appenders)
    a.join();
  constexpr size_t total = threads * groups_per_thread * events_per_group;
  REQUIRE(book.size() == total);
  REQUIRE(book.all_answered(30s));
  CHECK(book.count_if([](const auto& e) { return e.ok && e.calls == 1; }) == total);
  auto stats = log->stats();
  CHECK(stats.acked == total);
  CHECK(stats.failed == 0);

  auto msgs = read_stream(js, total);
  CHECK(msgs.size() == total);
  auto counts = id_counts(msgs);
  CHECK(counts.size() == total);
  CHECK(std::all_of(counts.begin(), counts.end(), [](const auto& c) { return c.second == 1; }));
  auto groups = by_group(msgs);
  CHECK(groups.size() == static_cast<size_t>(threads * groups_per_thread));
  for (auto& [group, seqs] : groups) {
    INFO(group);
    CHECK(seqs.size() == static_cast<size_t>(events_per_group));
    CHECK(is_prefix_order(seqs));
  }
}

TEST_CASE("event log: a second event with the same msg id is stored once and both succeed",
          "[event_log][integration]") {
  stream_server env;
  auto& [srv, t, js] = env;
  auto log = make_log(*t);
  ledger book;
  log->append(book.record("dup", 0, 10s, "same-id"));
  log->append(book.record("dup", 1, 10s, "same-id"));
  REQUIRE(book.all_answered(10s));
  auto events = book.events();
  CHECK(events[0].ok);
  CHECK(events[1].ok);
  CHECK(events[0].calls == 1);
  CHECK(events[1].calls == 1);
  CHECK(log->stats().acked == 2);
  CHECK(log->stats().duplicates == 1);
  auto msgs = read_stream(js, 1);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].msg_id == "same-id");
  CHECK(msgs[0].data == "dup|0");
}

TEST_CASE("event log: done runs without the log's lock, so it may append the next event",
          "[event_log][integration]") {
  stream_server env;
  auto& [srv, t, js] = env;
  auto log = make_log(*t);
  constexpr int chain = 100;
  std::atomic<int> stored_ok{0};
  std::function<void(int)> append_link = [&](int seq) {
    bus::event_record ev;
    ev.group = "chain";
    ev.subject = "ev.chain";
    ev.data = "chain|" + std::to_string(seq);
    ev.msg_id = "chain-" + std::to_string(seq);
    ev.deadline = clock_type::now() + 10s;
    ev.done = [&, seq](caf::error err) {
      if (err)
        return;
      ++stored_ok;
      if (seq + 1 < chain)
        append_link(seq + 1);
    };
    log->append(std::move(ev));
  };
  append_link(0);
  REQUIRE(wait_until(20s, [&] { return stored_ok == chain; }));
  auto groups = by_group(read_stream(js, chain));
  CHECK(groups["chain"].size() == static_cast<size_t>(chain));
  CHECK(is_prefix_order(groups["chain"]));
}

TEST_CASE("event log: an event no stream takes is retried and fails at its deadline",
          "[event_log][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto log = make_log(*t); // no stream at all: every attempt gets "no responders"
  ledger book;
  log->append(book.record("lost", 0, 400ms));
  log->append(book.record("lost", 1, 10s));
  REQUIRE(book.all_answered(5s));
  auto events = book.events();
  CHECK_FALSE(events[0].ok);
  CHECK(events[0].code == bus::errc::jetstream_error);
  CHECK(events[0].answered <= events[0].deadline + 1s);
  // The later event of the group fails with it, long before its own deadline.
  CHECK_FALSE(events[1].ok);
  CHECK(events[1].code == bus::errc::jetstream_error);
  CHECK(log->stats().retries > 0);
  // The group stays failed: storing a later event would leave a gap.
  log->append(book.record("lost", 2, 10s));
  REQUIRE(book.all_answered(5s));
  CHECK_FALSE(book.events()[2].ok);
}

TEST_CASE("event log: a server killed and restarted mid-stream loses no acknowledged event and "
          "leaves no gaps",
          "[event_log][integration]") {
  stream_server env;
  auto& [srv, t, js] = env;
  bus::jetstream_event_log_options opts;
  opts.ack_timeout = 500ms;
  opts.retry_initial = 20ms;
  opts.retry_max = 200ms;
  auto log = make_log(*t, opts);
  constexpr auto ttl = 1500ms;
  // Slack past a deadline for the report: the attempt that was on the wire
  // (capped to the deadline), plus the lost-attempt grace, plus load.
  constexpr auto slack = 3s;
  ledger book;

  std::atomic<bool> stop{false};
  std::atomic<clock_type::time_point::rep> restarted_at{
      clock_type::time_point::max().time_since_epoch().count()};
  std::thread appender([&] {
    // Eight lanes; each moves to a fresh group after ten events.
    constexpr int lanes = 8, per_group = 10;
    std::vector<int> group_no(lanes), seq(lanes);
    for (int l = 0; l < lanes; ++l)
      group_no[l] = l;
    int next_group = lanes;
    while (!stop) {
      for (int l = 0; l < lanes; ++l) {
        log->append(book.record("k" + std::to_string(group_no[l]), seq[l], ttl));
        if (++seq[l] == per_group) {
          seq[l] = 0;
          group_no[l] = next_group++;
        }
      }
      std::this_thread::sleep_for(5ms); // pacing, not synchronisation
    }
  });
  auto ok_count = [&] { return book.count_if([](const auto& e) { return e.calls > 0 && e.ok; }); };
  auto failed_count = [&] {
    return book.count_if([](const auto& e) { return e.calls > 0 && !e.ok; });
  };
  auto ok_after_restart = [&] {
    auto since = clock_type::time_point{clock_type::duration{restarted_at.load()}};
    return book.count_if([&](const auto& e) { return e.ok && e.appended > since; });
  };

  REQUIRE(wait_until(20s, [&] { return ok_count() >= 200; }));
  // A burst that outlives the outage, killed mid-flight: its events are
  // retried (same ids) until the server is back, then stored once each.
  constexpr int long_groups = 20, long_events = 50;
  for (int seq = 0; seq < long_events; ++seq)
    for (int g = 0; g < long_groups; ++g)
      log->append(book.record("long" + std::to_string(g), seq, 60s));
  srv.stop();
  auto killed = clock_type::now();
  // The outage lasts until deadlines have passed in it.
  bool failures_seen = wait_until(20s, [&] { return failed_count() >= 20; });
  auto restart = clock_type::now();
  restarted_at = restart.time_since_epoch().count();
  srv.start();
  bool recovered = wait_until(30s, [&] { return ok_after_restart() >= 200; });
  stop = true;
  appender.join();
  REQUIRE(failures_seen);
  REQUIRE(recovered);
  REQUIRE(book.all_answered(ttl + slack + 5s));

  auto events = book.events();
  std::map<std::string, int> stored_ok_prefix; // per group: how many reported ok
  for (auto& e : events) {
    INFO(e.msg_id);
    CHECK(e.calls == 1);
    if (e.ok) {
      // ok events of a group come first: the stream holds a prefix
      CHECK(stored_ok_prefix[e.group] == e.seq);
      stored_ok_prefix[e.group] = e.seq + 1;
      continue;
    }
    CHECK((e.code == bus::errc::timeout || e.code == bus::errc::not_connected
           || e.code == bus::errc::jetstream_error));
    CHECK(e.answered <= e.deadline + slack);
    // Appended after the kill with a deadline before the restart: it could
    // not be stored in time, so it must have failed (this branch), never ok.
  }
  CHECK(book.count_if([](const auto& e) { return e.group.starts_with("long") && e.ok; })
        == static_cast<size_t>(long_groups * long_events));
  for (auto& e : events)
    if (e.appended > killed && e.deadline < restart) {
      INFO(e.msg_id);
      CHECK_FALSE(e.ok);
    }

  size_t ok_total = ok_count();
  auto msgs = read_stream(js, ok_total);
  auto counts = id_counts(msgs);
  for (auto& [id, n] : counts) {
    INFO(id);
    CHECK(n == 1); // exactly once, across the restart
  }
  std::set<std::string> in_stream;
  for (auto& m : msgs)
    in_stream.insert(m.msg_id);
  for (auto& e : events)
    if (e.ok) {
      INFO(e.msg_id);
      CHECK(in_stream.count(e.msg_id) == 1);
    }
  for (auto& [group, seqs] : by_group(msgs)) {
    INFO(group);
    CHECK(is_prefix_order(seqs)); // in order, no gaps
    // A failed event may have been stored with its ack lost, never an ok one missing.
    CHECK(static_cast<int>(seqs.size()) >= stored_ok_prefix[group]);
  }
  auto stats = log->stats();
  CHECK(stats.acked == ok_total);
  CHECK(stats.retries > 0);
}

TEST_CASE("event log: append never blocks, even with the server down", "[event_log][integration]") {
  stream_server env;
  auto& [srv, t, js] = env;
  auto log = make_log(*t);
  srv.stop();
  REQUIRE(wait_until(5s, [&] { return t->state() == bus::link_state::reconnecting; }));
  ledger book;
  constexpr int groups = 500, per_group = 20;
  clock_type::duration slowest{0};
  for (int seq = 0; seq < per_group; ++seq)
    for (int g = 0; g < groups; ++g) {
      auto ev = book.record("b" + std::to_string(g), seq, 300ms);
      auto t0 = clock_type::now();
      log->append(std::move(ev));
      slowest = std::max(slowest, clock_type::now() - t0);
    }
  INFO("slowest append: " << std::chrono::duration_cast<std::chrono::microseconds>(slowest).count()
                          << " us");
  CHECK(slowest < 50ms);
  REQUIRE(book.all_answered(20s));
  CHECK(book.count_if([](const auto& e) {
    return e.calls == 1 && !e.ok
           && (e.code == bus::errc::not_connected || e.code == bus::errc::timeout);
  }) == static_cast<size_t>(groups * per_group));
  CHECK(log->stats().failed == static_cast<uint64_t>(groups * per_group));
}

TEST_CASE("event log: destroying the log answers every pending event exactly once",
          "[event_log][integration]") {
  stream_server env;
  auto& [srv, t, js] = env;
  ledger book;
  auto check_exactly_once = [&](size_t expected) {
    REQUIRE(book.size() == expected);
    // No waiting: the destructor returned, so every done has run.
    CHECK(book.answered() == expected);
    CHECK(book.count_if([](const auto& e) { return e.calls == 1; }) == expected);
    CHECK(book.count_if([](const auto& e) { return !e.ok && e.code != bus::errc::not_connected; })
          == 0);
  };

  SECTION("connected, with attempts in flight and events queued") {
    bus::jetstream_event_log_options opts;
    opts.max_in_flight = 8;
    auto log = make_log(*t, opts);
    for (int seq = 0; seq < 20; ++seq)
      for (int g = 0; g < 100; ++g)
        log->append(book.record("d" + std::to_string(g), seq, 60s));
    log.reset();
    check_exactly_once(2000);
    CHECK(book.count_if([](const auto& e) { return !e.ok; }) > 0);
  }
  SECTION("with the server down") {
    auto log = make_log(*t);
    for (int g = 0; g < 50; ++g)
      log->append(book.record("w" + std::to_string(g), 0, 60s));
    srv.stop();
    for (int seq = 1; seq < 10; ++seq)
      for (int g = 0; g < 50; ++g)
        log->append(book.record("w" + std::to_string(g), seq, 60s));
    log.reset();
    check_exactly_once(500);
    srv.start();
  }
  // Acks that arrive now find no log: nothing is answered twice.
  REQUIRE(wait_until(5s, [&] { return !t->flush(1s); }));
  CHECK(book.count_if([](const auto& e) { return e.calls != 1; }) == 0);
}

TEST_CASE("event log: bad records and options are refused", "[event_log][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  bus::jetstream_event_log_options bad;
  bad.max_in_flight = 0;
  auto refused = bus::make_jetstream_event_log(*t, bad);
  REQUIRE_FALSE(refused);
  CHECK(code_of(refused.error()) == bus::errc::jetstream_error);

  auto log = make_log(*t);
  ledger book;
  auto wildcard = book.record("bad", 0, 5s);
  wildcard.subject = "ev.*";
  log->append(std::move(wildcard));
  auto no_id = book.record("other", 0, 5s);
  no_id.msg_id.clear();
  log->append(std::move(no_id));
  REQUIRE(book.all_answered(5s));
  auto events = book.events();
  CHECK(events[0].code == bus::errc::invalid_subject);
  CHECK(events[1].code == bus::errc::publish_failed);
}

TEST_CASE("stream_config max_bytes bounds the stream, dropping the oldest messages",
          "[event_log][jetstream][integration]") {
  nats_server srv;
  auto t = connect_to(srv);
  auto js = open_js(*t);
  bus::stream_config cfg;
  cfg.name = stream_name;
  cfg.subjects = {"ev.>"};
  cfg.max_bytes = 4096;
  REQUIRE_FALSE(js.ensure_stream(cfg));
  std::string payload(500, 'x');
  for (int i = 0; i < 40; ++i)
    REQUIRE(js.publish("ev.big", payload + "|" + std::to_string(i)));
  auto msgs = read_stream(js, 1);
  CHECK(msgs.size() < 10);
  REQUIRE_FALSE(msgs.empty());
  CHECK(msgs.back().data.ends_with("|39"));

  auto zero = cfg;
  zero.max_bytes = 0;
  CHECK(code_of(js.ensure_stream(zero)) == bus::errc::jetstream_error);
}

TEST_CASE("event log: an event the client refuses to send fails at once, with its group's later "
          "events",
          "[event_log][integration]") {
  // Larger than the server's max_payload (1 MiB by default): nats.c refuses
  // it in the publish call itself, the path a send error also takes.
  stream_server env;
  auto& [srv, t, js] = env;
  auto log = make_log(*t);
  ledger book;
  auto big = book.record("big", 0, 30s);
  big.data.assign(2u << 20, 'x');
  log->append(std::move(big));
  log->append(book.record("big", 1, 30s));
  log->append(book.record("fine", 0, 30s));
  REQUIRE(book.all_answered(5s));
  auto events = book.events();
  CHECK_FALSE(events[0].ok);
  CHECK(events[0].code == bus::errc::publish_failed);
  CHECK_FALSE(events[1].ok);
  CHECK(events[1].code == bus::errc::publish_failed);
  CHECK(events[2].ok);
  for (const auto& e : events)
    CHECK(e.calls == 1);
  // Refused in the call, not waited out: the deadline was 30 s away.
  CHECK(events[0].answered - events[0].appended < 5s);
}
