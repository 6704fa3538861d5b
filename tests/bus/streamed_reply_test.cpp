// Streamed answers, typed dispatch and replies checked against their request:
// a request_client in an actor, a typed service behind the bridge, all on the
// fake transport.
#include <catch2/catch.hpp>

#include "bus/dispatch.hpp"
#include "bus/fake_transport.hpp"
#include "bus/request_client.hpp"
#include "tests/bus/bridge_fixture.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

/// What the client actor saw of one request.
struct client_log {
  std::mutex mtx;
  std::vector<uint64_t> partial_seqs;
  std::optional<caf::expected<uint64_t>> final_seq; // the final Pong's seq, or the error
  bool done() {
    std::lock_guard guard{mtx};
    return final_seq.has_value();
  }
};

using go_atom = caf::atom_constant<caf::atom("go")>;

struct client_state {
  std::optional<bus::request_client> client;
  static inline const char* name = "stream_client";
};

/// Starts one streamed request per (go_atom, subject, env, owner tenant, owner user).
caf::behavior stream_client(caf::stateful_actor<client_state>* self, bus::transport_ptr t,
                            std::shared_ptr<const bus::principal_keys> keys,
                            prometheus::Registry* metrics, std::shared_ptr<client_log> log) {
  self->state.client.emplace(std::move(t), bus::request_options{1 << 20, std::move(keys), metrics});
  return {
    [self, log](go_atom, const std::string& subject, troupe::v1::Envelope& env,
                const std::string& tenant, const std::string& user) {
      bus::call_options opts;
      if (!tenant.empty())
        opts.owner = bus::reply_owner{tenant_id{tenant}, user_id{user}};
      opts.on_partial = [log](bus::reply r) {
        auto pong = bus::reply_as<troupe::v1::Pong>(caf::expected<bus::reply>{std::move(r)});
        std::lock_guard guard{log->mtx};
        log->partial_seqs.push_back(pong ? (*pong)->seq() : 9999);
      };
      self->state.client->request(
        self, subject, std::move(env), std::chrono::seconds{2},
        [log](caf::expected<bus::reply> r) {
          auto pong = bus::reply_as<troupe::v1::Pong>(r);
          std::lock_guard guard{log->mtx};
          log->final_seq = pong ? caf::expected<uint64_t>{(*pong)->seq()}
                                : caf::expected<uint64_t>{pong.error()};
        },
        std::move(opts));
    },
    [self](reply_atom, uint64_t token, bus::message& m) { self->state.client->handle_reply(token, m); },
    [self](timeout_atom, uint64_t timer) { self->state.client->handle_timeout(timer); },
  };
}

using pinger = caf::typed_actor<caf::reacts_to<bus::in<troupe::v1::Ping>>>;

/// Answers a Ping with `seq` partial Pongs (seq 0..n-1), then a final Pong
/// with seq 100 — after `before_final` ran (a test's forgeries).
pinger::behavior_type streaming_pinger(pinger::pointer, std::function<void(const bus::inbound&)> before_final) {
  return {
    [before_final](const bus::in<troupe::v1::Ping>& in) {
      for (uint64_t i = 0; i < in.msg().seq(); ++i) {
        troupe::v1::Pong p;
        p.set_seq(i);
        REQUIRE_FALSE(in.reply().send_partial(bus::make_reply(in.env(), p)));
      }
      if (before_final)
        before_final(in.raw);
      troupe::v1::Pong last;
      last.set_seq(100);
      CHECK_FALSE(in.reply().send(bus::make_reply(in.env(), last)));
      // Nothing after the final reply.
      CHECK(bus::is(in.reply().send_partial(bus::make_reply(in.env(), last)),
                    bus::errc::publish_failed));
    },
  };
}

struct stream_fixture : bridge_fixture {
  stream_fixture() : bridge_fixture(std::make_shared<bus::fake_transport>()) {}

  void serve_pinger(std::function<void(const bus::inbound&)> before_final = {}) {
    auto p = sys.spawn(streaming_pinger, std::move(before_final));
    spawned.push_back(caf::actor_cast<caf::actor>(p));
    bool ok = false;
    self->request(bridge, 5s, serve_atom::value, std::string{"troupe.test.svc.ping"},
                  std::string{"ping"}, bus::dispatch::to<troupe::v1::Ping>(p), false)
      .receive([&](bool b) { ok = b; }, [](caf::error&) {});
    REQUIRE(ok);
  }

  std::shared_ptr<client_log> ask(troupe::v1::Envelope env, std::string tenant = {},
                                  std::string user = {}) {
    auto log = std::make_shared<client_log>();
    auto c = sys.spawn(stream_client, transport, keys, &registry, log);
    spawned.push_back(c);
    caf::anon_send(c, go_atom::value, std::string{"troupe.test.svc.ping"}, std::move(env),
                   std::move(tenant), std::move(user));
    REQUIRE(wait_until(5s, [&] { return log->done(); }));
    return log;
  }

  troupe::v1::Envelope signed_ping(uint64_t seq, const std::string& user) {
    return signed_as(ping(seq), "acme", user);
  }

  std::string rejected(const std::string& reason) {
    auto text = metrics();
    auto key = "troupe_bus_rejected_total{reason=\"" + reason + "\"} ";
    auto at = text.find(key);
    return at == std::string::npos ? "0" : text.substr(at + key.size(), text.find('\n', at) - at - key.size());
  }
};

} // namespace

TEST_CASE("a streamed answer reaches the requester in order, partial replies first",
          "[bus][stream][unit]") {
  stream_fixture f;
  f.serve_pinger();
  auto log = f.ask(ping(5));
  CHECK(log->partial_seqs == std::vector<uint64_t>{0, 1, 2, 3, 4});
  REQUIRE(*log->final_seq);
  CHECK(**log->final_seq == 100);
}

TEST_CASE("a typed service refuses a payload type it does not take, at the edge",
          "[bus][stream][unit]") {
  stream_fixture f;
  f.serve_pinger();
  auto reply = f.request("troupe.test.svc.ping", bus::make_envelope(troupe::v1::Pong{}));
  REQUIRE_FALSE(reply);
  CHECK(bus::is(reply.error(), bus::errc::unknown_type));
  CHECK(f.rejected("unknown_type") == "1");
}

TEST_CASE("a reply for another request is refused and the real one still counts",
          "[bus][stream][unit]") {
  stream_fixture f;
  f.serve_pinger([&](const bus::inbound& in) {
    troupe::v1::Pong forged;
    forged.set_seq(666);
    auto env = bus::make_envelope(forged);
    env.set_correlation_id("someone-else");
    REQUIRE_FALSE(f.transport->publish(in.reply_subject, env.SerializeAsString()));
  });
  auto log = f.ask(ping(1));
  CHECK(log->partial_seqs == std::vector<uint64_t>{0});
  REQUIRE(*log->final_seq);
  CHECK(**log->final_seq == 100);
  CHECK(f.rejected("reply_mismatch") == "1");
}

TEST_CASE("replies must carry the request's principal when the requester says whose they are",
          "[bus][stream][unit]") {
  stream_fixture f;
  // Forgeries on the right reply subject with the right correlation id: one
  // without a principal, one with another user's (validly signed) principal.
  f.serve_pinger([&](const bus::inbound& in) {
    troupe::v1::Pong forged;
    forged.set_seq(666);
    auto bare = bus::make_reply(in.env, forged);
    bare.set_correlation_id(in.env.id());
    bare.set_more(true);
    REQUIRE_FALSE(f.transport->publish(in.reply_subject, bare.SerializeAsString()));
    auto other = bare;
    *other.mutable_principal() = *f.signed_ping(0, "mallory").mutable_principal();
    other.set_more(false);
    REQUIRE_FALSE(f.transport->publish(in.reply_subject, other.SerializeAsString()));
  });
  auto log = f.ask(f.signed_ping(2, "alice"), "acme", "alice");
  // The honest responder echoes alice's principal on every reply: those count.
  CHECK(log->partial_seqs == std::vector<uint64_t>{0, 1});
  REQUIRE(*log->final_seq);
  CHECK(**log->final_seq == 100);
  CHECK(f.rejected("principal_missing") == "1");
  CHECK(f.rejected("principal_mismatch") == "1");
}

TEST_CASE("a reply larger than the limit is refused before it is sent, and a small one still can be",
          "[bus][stream][unit]") {
  auto t = std::make_shared<bus::fake_transport>();
  std::vector<std::string> sent;
  auto sub = t->subscribe("_INBOX.r", "", [&](bus::message m) { sent.emplace_back(m.data); });
  REQUIRE(sub);
  bus::replier r{t, {"_INBOX.r", "req-1", 0, {}, 200}};
  troupe::v1::Pong big;
  big.set_data(std::string(500, 'x'));
  CHECK(bus::is(r.send(bus::make_envelope(big)), bus::errc::oversize));
  CHECK_FALSE(r.answered());
  CHECK_FALSE(r.send(bus::make_envelope(troupe::v1::Pong{})));
  REQUIRE(sent.size() == 1);
  troupe::v1::Envelope env;
  REQUIRE(env.ParseFromString(sent[0]));
  CHECK(env.correlation_id() == "req-1");
  CHECK_FALSE(env.more());
}

TEST_CASE("a routed dispatch delivers each envelope itself, and a typed one refuses other types",
          "[bus][stream][unit]") {
  stream_fixture f;
  auto a = f.spawn_handler("a");
  std::vector<std::pair<std::string, bool>> delivered; // subject, typed as in<Ping>
  auto route = bus::dispatch::routed<troupe::v1::Ping>(
    f.handlers[0], [&](std::string_view subject, caf::message msg) {
      delivered.emplace_back(std::string{subject},
                             msg.match_elements<bus::in<troupe::v1::Ping>>());
    });
  bus::inbound for_b;
  for_b.subject = "troupe.test.node.n1.x.b";
  for_b.payload = std::make_shared<troupe::v1::Ping>();
  auto routed = route->route(std::move(for_b));
  REQUIRE(routed);
  CHECK_FALSE(routed->target); // delivered already: nothing left for the caller to send
  REQUIRE(delivered.size() == 1);
  CHECK(delivered[0] == std::pair<std::string, bool>{"troupe.test.node.n1.x.b", true});
  bus::inbound wrong;
  wrong.payload = std::make_shared<troupe::v1::Pong>();
  CHECK_FALSE(route->route(std::move(wrong)));
  CHECK(delivered.size() == 1);
  // A plain dispatch names its target; an untyped one takes any type.
  auto typed = bus::dispatch::to<troupe::v1::Ping>(f.handlers[0]);
  bus::inbound ping;
  ping.payload = std::make_shared<troupe::v1::Ping>();
  CHECK(typed->route(std::move(ping))->target == f.handlers[0]);
  auto untyped = bus::dispatch::untyped(f.handlers[0]);
  CHECK(untyped->route(bus::inbound{})->target == f.handlers[0]);
  (void)a;
}
