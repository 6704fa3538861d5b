// Unit tests of the bridge actor, the request client and the inbound checks
// on the in-memory fake_transport (synchronous delivery).
#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <random>
#include <spdlog/sinks/ostream_sink.h>
#include <sstream>
#include <thread>

#include "bus/fake_transport.hpp"
#include "bus/reply_router.hpp"
#include "bus/request_client.hpp"
#include "bus/subjects.hpp"
#include "common/logging.hpp"
#include "tests/bus/bridge_fixture.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

const std::string echo_subject = "troupe.test.svc.echo";

/// A peer that talks to the bus without the bridge: publishes raw bytes with
/// a reply subject and collects whatever comes back there.
class raw_requester {
public:
  explicit raw_requester(const std::shared_ptr<bus::fake_transport>& t) : t_(t) {
    auto sub = t->subscribe(inbox_, "", [this](bus::message m) {
      std::lock_guard<std::mutex> guard{mtx_};
      replies_.emplace_back(m.data);
    });
    REQUIRE(sub);
    sub_ = std::move(*sub);
  }
  void send(const std::string& subject, const std::string& bytes) {
    REQUIRE_FALSE(t_->publish(subject, bytes, inbox_));
  }
  size_t count() {
    std::lock_guard<std::mutex> guard{mtx_};
    return replies_.size();
  }
  /// The code of the n-th reply, which must be a troupe.v1.Error.
  std::string error_code(size_t n) {
    REQUIRE(wait_until(2s, [&] { return count() > n; }));
    std::lock_guard<std::mutex> guard{mtx_};
    troupe::v1::Envelope env;
    REQUIRE(env.ParseFromString(replies_[n]));
    REQUIRE(env.payload_type() == "troupe.v1.Error");
    troupe::v1::Error err;
    REQUIRE(err.ParseFromString(env.payload()));
    CHECK(err.component() == "bus");
    last_correlation_ = env.correlation_id();
    return err.code();
  }
  std::string last_correlation() const { return last_correlation_; }

private:
  std::shared_ptr<bus::fake_transport> t_;
  std::string inbox_ = "raw.replies";
  std::mutex mtx_;
  std::vector<std::string> replies_;
  std::string last_correlation_;
  bus::subscription_ptr sub_;
};

troupe::v1::SignedPrincipal principal_for(const bus::principal_keys& keys, int64_t expires) {
  troupe::v1::Principal p;
  p.set_tenant("acme");
  p.set_user("carol");
  p.set_expires_unix_ms(expires);
  return *keys.sign(p);
}

struct unit_fixture : bridge_fixture {
  explicit unit_fixture(size_t max_bytes = 1 << 20)
    : bridge_fixture(std::make_shared<bus::fake_transport>(), max_bytes),
      fake(std::static_pointer_cast<bus::fake_transport>(transport)) {}
  std::shared_ptr<bus::fake_transport> fake;
};

} // namespace

TEST_CASE("a request through the bridge gets the reply its service handler sends",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler("svc-1");
  REQUIRE(f.serve(echo_subject, "echo", f.handlers[0]) == true);
  auto request = ping(41, "payload");
  auto reply = f.request(echo_subject, request);
  REQUIRE(reply);
  CHECK(reply->correlation_id() == request.id());
  auto pong = bus::payload_as<troupe::v1::Pong>(*reply);
  REQUIRE(pong);
  CHECK(pong->seq() == 41);
  CHECK(pong->data() == "payload");
  CHECK(pong->node_id() == "svc-1");
  REQUIRE(log->count() == 1);
  // the handler saw the deadline the bridge derived from the timeout
  CHECK(log->seen[0].env.deadline_unix_ms() > 0);
  CHECK(log->seen[0].reply->expected());
  auto st = f.status();
  CHECK(st.requests == 1);
  CHECK(st.received == 1);
  CHECK(st.published == 2); // the request and the reply
  CHECK(st.timeouts == 0);
  CHECK(st.services == 1);
  CHECK(st.state == bus::link_state::connected);
}

TEST_CASE("each bad envelope gets a typed error reply, is counted and never reaches the handler",
          "[bridge][unit]") {
  unit_fixture f{1024};
  auto log = f.spawn_handler();
  const std::string secured = "troupe.test.svc.secured";
  REQUIRE(f.serve(secured, "secured", f.handlers[0], true) == true);
  raw_requester peer{f.fake};
  auto now = bus::now_unix_ms();
  bus::principal_keys other_keys;
  REQUIRE_FALSE(other_keys.add("k2", std::string(32, 'Z')));
  bus::principal_keys same_id_other_secret;
  REQUIRE_FALSE(same_id_other_secret.add("k1", std::string(32, 'Z')));

  struct bad_case {
    std::string code;
    std::string bytes;
  };
  auto with = [&](auto mutate) {
    auto env = ping(1);
    *env.mutable_principal() = principal_for(*f.keys, now + 60'000);
    mutate(env);
    return env.SerializeAsString();
  };
  std::vector<bad_case> cases{
    {"malformed", "\xff\xff not protobuf"},
    {"unknown_type", with([](auto& e) { e.set_payload_type("troupe.v1.NoSuchThing"); })},
    {"oversize", with([](auto& e) { e.set_payload(std::string(2000, 'x')); })},
    {"deadline_expired", with([&](auto& e) { e.set_deadline_unix_ms(now - 1000); })},
    {"principal_missing", with([](auto& e) { e.clear_principal(); })},
    {"principal_invalid",
     with([&](auto& e) { *e.mutable_principal() = principal_for(same_id_other_secret, now + 60'000); })},
    {"principal_invalid",
     with([&](auto& e) { *e.mutable_principal() = principal_for(other_keys, now + 60'000); })},
    {"principal_invalid",
     with([&](auto& e) { *e.mutable_principal() = principal_for(*f.keys, now - 1); })},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].code);
    peer.send(secured, cases[i].bytes);
    CHECK(peer.error_code(i) == cases[i].code);
  }
  auto metrics = f.metrics();
  for (auto line : {"troupe_bus_rejected_total{reason=\"malformed\"} 1",
                    "troupe_bus_rejected_total{reason=\"unknown_type\"} 1",
                    "troupe_bus_rejected_total{reason=\"oversize\"} 1",
                    "troupe_bus_rejected_total{reason=\"deadline_expired\"} 1",
                    "troupe_bus_rejected_total{reason=\"principal_missing\"} 1",
                    "troupe_bus_rejected_total{reason=\"principal_invalid\"} 3",
                    "troupe_bus_received_total 8"}) {
    INFO(line);
    CHECK(metrics.find(line) != std::string::npos);
  }
  CHECK(f.status().rejected == cases.size());
  CHECK(log->count() == 0);

  // The service still works for a good, signed request.
  auto good = ping(9);
  *good.mutable_principal() = principal_for(*f.keys, now + 60'000);
  auto reply = f.request(secured, good);
  REQUIRE(reply);
  CHECK(bus::payload_as<troupe::v1::Pong>(*reply)->seq() == 9);
}

TEST_CASE("an error reply correlates to the rejected request when its id can be read",
          "[bridge][unit]") {
  unit_fixture f;
  f.spawn_handler();
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  raw_requester peer{f.fake};
  auto env = ping(1);
  env.set_deadline_unix_ms(1000);
  peer.send(echo_subject, env.SerializeAsString());
  CHECK(peer.error_code(0) == "deadline_expired");
  CHECK(peer.last_correlation() == env.id());
}

TEST_CASE("a rejected message without a reply subject is counted and answered by nobody",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  auto before = f.fake->published().size();
  REQUIRE_FALSE(f.fake->publish(echo_subject, "\x08\x96\x01 junk", ""));
  CHECK(f.fake->published().size() == before + 1); // only our own publish
  CHECK(f.status().rejected == 1);
  CHECK(log->count() == 0);
}

TEST_CASE("a flood of random bytes is rejected without crashing the bridge or the log",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto bus_log = troupe::log::get("bus");
  bus_log->sinks().push_back(sink);
  std::mt19937 rng{7};
  size_t sent = 0;
  for (int i = 0; i < 500; ++i) {
    std::string bytes(1 + rng() % 200, '\0');
    for (auto& c : bytes)
      c = static_cast<char>(rng());
    REQUIRE_FALSE(f.fake->publish(echo_subject, bytes, "raw.nowhere"));
    ++sent;
  }
  auto st = f.status();
  CHECK(st.received == sent);
  CHECK(st.rejected + log->count() == sent);
  CHECK(st.rejected > sent / 2);
  // In the next second's window, the first line says how many were dropped.
  std::this_thread::sleep_for(1100ms);
  REQUIRE_FALSE(f.fake->publish(echo_subject, "\xff\xff", "raw.nowhere"));
  bus_log->sinks().pop_back();
  size_t lines = 0;
  bool said_suppressed = false;
  std::istringstream text{captured.str()};
  for (std::string line; std::getline(text, line);) {
    lines += line.find("rejected envelope") != std::string::npos;
    said_suppressed |= line.find("similar lines suppressed") != std::string::npos;
  }
  CHECK(lines <= 3 * 5); // at most five a second, over at most three windows
  CHECK(said_suppressed);
  auto reply = f.request(echo_subject, ping(5));
  REQUIRE(reply);
  CHECK(bus::payload_as<troupe::v1::Pong>(*reply)->seq() == 5);
}

TEST_CASE("a request nobody serves ends with a typed timeout error within its deadline",
          "[bridge][unit]") {
  unit_fixture f;
  auto t0 = std::chrono::steady_clock::now();
  auto reply = f.request("troupe.test.svc.nobody", ping(1), caf::timespan{150ms});
  auto elapsed = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::timeout);
  CHECK(elapsed >= 140ms);
  CHECK(elapsed < 1s);
  auto st = f.status();
  CHECK(st.timeouts == 1);
  CHECK(f.metrics().find("troupe_bus_request_timeouts_total 1") != std::string::npos);
}

TEST_CASE("concurrent requests with different timeouts each end at their own deadline",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  log->answer = handler_log::mode::hold;
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  auto t0 = std::chrono::steady_clock::now();
  auto slow = f.self->request(f.bridge, caf::infinite, request_atom::value, echo_subject, ping(1),
                              caf::timespan{400ms});
  auto fast = f.self->request(f.bridge, caf::infinite, request_atom::value, echo_subject, ping(2),
                              caf::timespan{80ms});
  auto expect_timeout = [&](auto& handle, std::chrono::milliseconds at) {
    handle.receive([](troupe::v1::Envelope&) { FAIL("unexpected reply"); },
                   [&](caf::error& err) {
                     auto elapsed = std::chrono::steady_clock::now() - t0;
                     CHECK(code_of(err) == bus::errc::timeout);
                     CHECK(elapsed >= at - 5ms);
                     CHECK(elapsed < at + 250ms);
                   });
  };
  expect_timeout(fast, 80ms);
  expect_timeout(slow, 400ms);
  CHECK(f.status().timeouts == 2);
  CHECK(log->count() == 2);
}

TEST_CASE("a request nobody serves fails fast with no_responders when the server says so",
          "[bridge][unit]") {
  unit_fixture f;
  f.fake->emulate_no_responders(true);
  auto t0 = std::chrono::steady_clock::now();
  auto reply = f.request("troupe.test.svc.nobody", ping(1), caf::timespan{5s});
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::no_responders);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(f.status().timeouts == 0);
}

TEST_CASE("a reply that arrives after the timeout is dropped and counted", "[bridge][unit]") {
  unit_fixture f;
  // A foreign responder that answers only when the test says so.
  std::mutex mtx;
  std::string reply_to, request_id;
  auto sub = f.fake->subscribe(echo_subject, "", [&](bus::message m) {
    troupe::v1::Envelope env;
    env.ParseFromArray(m.data.data(), static_cast<int>(m.data.size()));
    std::lock_guard<std::mutex> guard{mtx};
    reply_to = std::string{m.reply};
    request_id = env.id();
  });
  REQUIRE(sub);
  auto reply = f.request(echo_subject, ping(1), caf::timespan{100ms});
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::timeout);
  std::lock_guard<std::mutex> guard{mtx};
  REQUIRE_FALSE(reply_to.empty());
  auto late = bus::make_envelope(troupe::v1::Pong{});
  late.set_correlation_id(request_id);
  REQUIRE_FALSE(f.fake->publish(reply_to, late.SerializeAsString(), ""));
  auto router = bus::reply_router::of(f.transport);
  REQUIRE(router);
  CHECK((*router)->dropped() == 1);
  CHECK((*router)->waiting() == 0);
  CHECK(f.metrics().find("troupe_bus_late_replies_total 1") != std::string::npos);
  // The bridge keeps working afterwards.
  CHECK(f.status().timeouts == 1);
}

TEST_CASE("a handler's answer after the requester's deadline is not sent", "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  log->answer = handler_log::mode::hold;
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  auto reply = f.request(echo_subject, ping(1), caf::timespan{60ms});
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::timeout);
  REQUIRE(log->count() == 1);
  auto before = f.fake->published().size();
  auto err = log->seen[0].reply->send(bus::make_reply(log->seen[0].env, troupe::v1::Pong{}));
  CHECK(code_of(err) == bus::errc::deadline_expired);
  CHECK(f.fake->published().size() == before);
}

TEST_CASE("a handler can answer a request only once", "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  log->answer = handler_log::mode::twice;
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  auto reply = f.request(echo_subject, ping(3));
  REQUIRE(reply);
  REQUIRE(wait_until(2s, [&] {
    std::lock_guard<std::mutex> guard{log->mtx};
    return log->send_results.size() == 2;
  }));
  std::lock_guard<std::mutex> guard{log->mtx};
  CHECK_FALSE(log->send_results[0]);
  CHECK(code_of(log->send_results[1]) == bus::errc::publish_failed);
  CHECK(log->seen[0].reply->answered());
}

TEST_CASE("a troupe.v1.Error reply reaches the requester as the matching bus error",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  log->answer = handler_log::mode::error;
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  auto reply = f.request(echo_subject, ping(3));
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::unknown_type);
}

TEST_CASE("two handlers in one queue group share the work", "[bridge][unit]") {
  unit_fixture f;
  auto a = f.spawn_handler("a");
  auto b = f.spawn_handler("b");
  REQUIRE(f.serve(echo_subject, "echo", f.handlers[0]) == true);
  REQUIRE(f.serve(echo_subject, "echo", f.handlers[1]) == true);
  std::map<std::string, int> by_node;
  for (uint64_t i = 0; i < 20; ++i) {
    auto reply = f.request(echo_subject, ping(i));
    REQUIRE(reply);
    ++by_node[bus::payload_as<troupe::v1::Pong>(*reply)->node_id()];
  }
  CHECK(by_node["a"] > 0);
  CHECK(by_node["b"] > 0);
  CHECK(by_node["a"] + by_node["b"] == 20);
  CHECK(a->count() + b->count() == 20);
  CHECK(f.status().services == 2);
}

TEST_CASE("a direct message reaches the actor at its node address as a one-way inbound",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  bus::subjects subjects{"test"};
  auto direct = subjects.direct("n1", "session", "s-42");
  REQUIRE(direct);
  REQUIRE(f.serve(*direct, "", f.handlers[0]) == true);
  auto env = ping(8);
  env.set_tenant("acme");
  f.self->send(f.bridge, publish_atom::value, *direct, env);
  REQUIRE(wait_until(2s, [&] { return log->count() == 1; }));
  std::lock_guard<std::mutex> guard{log->mtx};
  const auto& in = log->seen[0];
  CHECK(in.env.id() == env.id());
  CHECK(in.env.tenant() == "acme");
  CHECK(in.reply_subject.empty());
  REQUIRE(in.reply);
  CHECK_FALSE(in.reply->expected());
  REQUIRE(log->send_results.size() == 1);
  CHECK(code_of(log->send_results[0]) == bus::errc::invalid_subject);
}

TEST_CASE("a service on a wildcard subject receives every matching subject", "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  bus::subjects subjects{"test"};
  REQUIRE(f.serve(*subjects.heartbeat("*"), "", f.handlers[0]) == true);
  f.self->send(f.bridge, publish_atom::value, *subjects.heartbeat("n1"), ping(1));
  f.self->send(f.bridge, publish_atom::value, *subjects.heartbeat("n2"), ping(2));
  f.self->send(f.bridge, publish_atom::value, *subjects.ctl("n2"), ping(3));
  REQUIRE(wait_until(2s, [&] { return log->count() == 2; }));
  CHECK(f.status().published == 3);
}

TEST_CASE("serving the same subject twice for one handler subscribes once", "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  REQUIRE(f.serve(echo_subject, "echo", f.handlers[0]) == true);
  REQUIRE(f.serve(echo_subject, "echo", f.handlers[0]) == true);
  CHECK(f.status().services == 1);
  REQUIRE(f.request(echo_subject, ping(1)));
  CHECK(log->count() == 1);
}

TEST_CASE("when a service's handler dies its subscription goes with it", "[bridge][unit]") {
  unit_fixture f;
  f.spawn_handler();
  REQUIRE(f.serve(echo_subject, "echo", f.handlers[0]) == true);
  auto subs = f.fake->subscriptions();
  caf::anon_send_exit(f.handlers[0], caf::exit_reason::kill);
  REQUIRE(wait_until(2s, [&] { return f.status().services == 0; }));
  CHECK(f.fake->subscriptions() == subs - 1);
  f.fake->emulate_no_responders(true);
  auto reply = f.request(echo_subject, ping(1));
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::no_responders);
}

TEST_CASE("stop ends a service and a stopped bridge leaves no subscription behind",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  REQUIRE(f.serve("troupe.test.svc.other", "", f.handlers[0]) == true);
  f.self->send(f.bridge, stop_atom::value, echo_subject);
  CHECK(f.status().services == 1);
  REQUIRE_FALSE(f.fake->publish(echo_subject, ping(1).SerializeAsString(), ""));
  CHECK(f.status().received == 0);
  REQUIRE(f.request("troupe.test.svc.other", ping(2))); // also subscribes the reply router
  CHECK(f.fake->subscriptions() == 2);
  f.self->monitor(f.bridge);
  caf::anon_send_exit(f.bridge, caf::exit_reason::user_shutdown);
  f.self->receive([](const caf::down_msg&) {});
  CHECK(wait_until(2s, [&] { return f.fake->subscriptions() == 0; }));
  CHECK(log->count() == 1);
}

TEST_CASE("wildcard or malformed subjects are refused for publishing, requests and serving",
          "[bridge][unit]") {
  unit_fixture f;
  f.spawn_handler();
  auto reply = f.request("troupe.test.svc.*", ping(1));
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::invalid_subject);
  for (auto subject : {"troupe..svc", "", "troupe.>.x", "troupe.te st"}) {
    auto served = f.serve(subject, "", f.handlers[0]);
    REQUIRE_FALSE(served);
    CHECK(code_of(served.error()) == bus::errc::invalid_subject);
  }
  auto bad_queue = f.serve(echo_subject, "q.1", f.handlers[0]);
  REQUIRE_FALSE(bad_queue);
  CHECK(code_of(bad_queue.error()) == bus::errc::invalid_subject);
  auto no_handler = f.serve(echo_subject, "", caf::actor{});
  REQUIRE_FALSE(no_handler);
  f.self->send(f.bridge, publish_atom::value, std::string{"troupe.test.>"}, ping(1));
  CHECK(f.status().published == 0);
  CHECK(f.fake->published().empty());
}

TEST_CASE("a failed or impossible publish reaches the requester at once as a typed error",
          "[bridge][unit]") {
  unit_fixture f;
  f.spawn_handler();
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  f.fake->fail_publishes(1);
  auto t0 = std::chrono::steady_clock::now();
  auto failed = f.request(echo_subject, ping(1), caf::timespan{5s});
  REQUIRE_FALSE(failed);
  CHECK(code_of(failed.error()) == bus::errc::publish_failed);
  f.fake->set_state(bus::link_state::closed);
  auto closed = f.request(echo_subject, ping(2), caf::timespan{5s});
  REQUIRE_FALSE(closed);
  CHECK(code_of(closed.error()) == bus::errc::not_connected);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(f.status().state == bus::link_state::closed);
  f.fake->set_state(bus::link_state::connected);
  CHECK(f.request(echo_subject, ping(3)));
}

TEST_CASE("a request whose own deadline already passed is refused before sending",
          "[bridge][unit]") {
  unit_fixture f;
  auto env = ping(1);
  env.set_deadline_unix_ms(bus::now_unix_ms() - 10);
  auto reply = f.request(echo_subject, env);
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::deadline_expired);
  CHECK(f.fake->published().empty());
}

TEST_CASE("a deadline the caller set before the timeout ends the wait at that deadline",
          "[bridge][unit]") {
  unit_fixture f;
  auto log = f.spawn_handler();
  log->answer = handler_log::mode::hold;
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  auto env = ping(1);
  env.set_deadline_unix_ms(bus::now_unix_ms() + 100);
  auto t0 = std::chrono::steady_clock::now();
  auto reply = f.request(echo_subject, env, caf::timespan{5s});
  REQUIRE_FALSE(reply);
  CHECK(code_of(reply.error()) == bus::errc::timeout);
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  REQUIRE(log->count() == 1);
  CHECK(log->seen[0].env.deadline_unix_ms() == env.deadline_unix_ms());
}

namespace {

struct embedding_state {
  std::optional<bus::request_client> client;
  static inline const char* name = "embedding";
};

/// An actor that requests through its own request_client, bypassing the
/// bridge: the hot-path pattern.
caf::behavior embedding_actor(caf::stateful_actor<embedding_state>* self,
                              bus::transport_ptr transport) {
  self->state.client.emplace(std::move(transport), bus::request_options{});
  return {
    [self](request_atom, const std::string& subject, troupe::v1::Envelope& env,
           caf::timespan timeout) -> caf::result<troupe::v1::Envelope> {
      auto rp = self->make_response_promise<troupe::v1::Envelope>();
      self->state.client->request(self, subject, std::move(env), timeout,
                                  [rp](caf::expected<bus::reply> r) mutable {
                                    if (r)
                                      rp.deliver(std::move(r->env));
                                    else
                                      rp.deliver(std::move(r.error()));
                                  });
      return rp;
    },
    [self](reply_atom, uint64_t token, const bus::message& msg) {
      self->state.client->handle_reply(token, msg);
    },
    [self](timeout_atom, uint64_t token) { self->state.client->handle_timeout(token); },
    [self](status_atom) { return self->state.client->pending(); },
  };
}

} // namespace

TEST_CASE("an actor embedding a request_client gets replies and timeouts without the bridge",
          "[bridge][unit]") {
  unit_fixture f;
  f.spawn_handler("served");
  REQUIRE(f.serve(echo_subject, "", f.handlers[0]) == true);
  auto client = f.sys.spawn(embedding_actor, f.transport);
  f.spawned.push_back(client);
  for (uint64_t i = 0; i < 50; ++i) {
    f.self->request(client, caf::infinite, request_atom::value, echo_subject, ping(i),
                    caf::timespan{2s})
      .receive(
        [&](troupe::v1::Envelope& reply) {
          CHECK(bus::payload_as<troupe::v1::Pong>(reply)->seq() == i);
        },
        [&](caf::error& err) { FAIL(caf::to_string(err)); });
  }
  f.self->request(client, caf::infinite, request_atom::value, std::string{"troupe.test.svc.none"},
                  ping(1), caf::timespan{50ms})
    .receive([&](troupe::v1::Envelope&) { FAIL("unexpected reply"); },
             [&](caf::error& err) { CHECK(code_of(err) == bus::errc::timeout); });
  f.self->request(client, 1s, status_atom::value)
    .receive([](size_t pending) { CHECK(pending == 0); },
             [](caf::error& err) { FAIL(caf::to_string(err)); });
  // The bridge and the embedding actor share the transport's one reply router.
  REQUIRE(f.request(echo_subject, ping(99)));
  CHECK(f.fake->subscriptions() == 2);
}

TEST_CASE("status follows the transport's link state", "[bridge][unit]") {
  unit_fixture f;
  CHECK(f.status().state == bus::link_state::connected);
  f.fake->set_state(bus::link_state::reconnecting);
  CHECK(f.status().state == bus::link_state::reconnecting);
}
