#pragma once
/// Shared pieces of the bridge tests: an actor system with a bridge on a
/// transport, handler actors that record what they get, and helpers to call
/// the bridge synchronously.
#include <caf/all.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/bridge.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/errc.hpp"
#include "bus/inbound.hpp"
#include "common/metrics.hpp"
#include "messages/message_types.hpp"
#include "tests/support/child_process.hpp"
#include "troupe/v1/node.pb.h"

namespace troupe::test {

using namespace std::chrono_literals;

/// What a recording handler saw. `answer` decides how it reacts.
struct handler_log {
  enum class mode { echo, hold, error, twice };
  std::mutex mtx;
  std::vector<bus::inbound> seen;
  std::vector<caf::error> send_results;
  mode answer = mode::echo;
  std::string name = "handler";

  size_t count() {
    std::lock_guard<std::mutex> guard{mtx};
    return seen.size();
  }
};

/// A handler actor: echoes a Ping as a Pong naming itself, or holds the
/// inbound (answered later by the test), or answers with a typed error, or
/// tries to answer twice. Every reply->send result is recorded.
inline caf::behavior recording_handler(caf::event_based_actor*, std::shared_ptr<handler_log> log) {
  return {
    [log](inbound_atom, bus::inbound& in) {
      std::lock_guard<std::mutex> guard{log->mtx};
      log->seen.push_back(in);
      auto pong = [&] {
        troupe::v1::Pong p;
        if (auto ping = bus::payload_as<troupe::v1::Ping>(in.env)) {
          p.set_seq(ping->seq());
          p.set_data(ping->data());
        }
        p.set_node_id(log->name);
        return bus::make_reply(in.env, p);
      };
      switch (log->answer) {
        case handler_log::mode::hold:
          return;
        case handler_log::mode::error:
          log->send_results.push_back(in.reply->send(
            bus::error_reply(in.env, bus::errc::unknown_type, "not my kind of message")));
          return;
        case handler_log::mode::twice:
          log->send_results.push_back(in.reply->send(pong()));
          log->send_results.push_back(in.reply->send(pong()));
          return;
        case handler_log::mode::echo:
          log->send_results.push_back(in.reply->send(pong()));
          return;
      }
    },
  };
}

inline troupe::v1::Envelope ping(uint64_t seq, std::string data = "hi") {
  troupe::v1::Ping p;
  p.set_seq(seq);
  p.set_data(std::move(data));
  return bus::make_envelope(p);
}

inline bus::errc code_of(const caf::error& err) {
  REQUIRE(err.category() == bus::error_category);
  return static_cast<bus::errc>(err.code());
}

/// An actor system with one bridge on `transport`. Everything it spawned is
/// stopped before the system goes away.
class bridge_fixture {
public:
  explicit bridge_fixture(bus::transport_ptr t, size_t max_bytes = 1 << 20)
    : transport(std::move(t)) {
    auto k = std::make_shared<bus::principal_keys>();
    REQUIRE_FALSE(k->add("k1", std::string(32, 'K')));
    keys = k;
    bridge = bus::make_bridge(sys, transport, {"test", "n1", max_bytes, keys, nullptr}, registry);
  }

  ~bridge_fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
  }

  std::shared_ptr<handler_log> spawn_handler(const std::string& name = "handler") {
    auto log = std::make_shared<handler_log>();
    log->name = name;
    handlers.push_back(sys.spawn(recording_handler, log));
    spawned.push_back(handlers.back());
    return log;
  }

  caf::expected<bool> serve(const std::string& subject, const std::string& queue,
                            const caf::actor& handler, bool require_principal = false) {
    caf::expected<bool> out = false;
    self->request(bridge, 5s, serve_atom::value, subject, queue, handler, require_principal)
      .receive([&](bool ok) { out = ok; }, [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  caf::expected<troupe::v1::Envelope> request(const std::string& subject,
                                              troupe::v1::Envelope env,
                                              caf::timespan timeout = caf::timespan{2s}) {
    caf::expected<troupe::v1::Envelope> out = bus::make_error(bus::errc::unknown, "no answer");
    self->request(bridge, caf::infinite, request_atom::value, subject, std::move(env), timeout)
      .receive([&](troupe::v1::Envelope& reply) { out = std::move(reply); },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  /// `env` carrying a principal for tenant/user signed with the fixture's
  /// keys, valid for a minute.
  troupe::v1::Envelope signed_as(troupe::v1::Envelope env, const std::string& tenant,
                                 const std::string& user) {
    troupe::v1::Principal p;
    p.set_tenant(tenant);
    p.set_user(user);
    p.set_expires_unix_ms(bus::now_unix_ms() + 60'000);
    *env.mutable_principal() = *keys->sign(p);
    env.set_tenant(tenant);
    return env;
  }

  bus::bridge_status status() {
    bus::bridge_status out;
    self->request(bridge, 5s, status_atom::value)
      .receive([&](bus::bridge_status& s) { out = s; }, [](caf::error&) { FAIL("no status"); });
    return out;
  }

  std::string metrics() { return troupe::metrics::render(registry); }

  prometheus::Registry registry;
  bus::transport_ptr transport;
  std::shared_ptr<const bus::principal_keys> keys;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  bus::bridge_actor bridge;
  std::vector<caf::actor> handlers;
  std::vector<caf::actor> spawned;
};

} // namespace troupe::test
