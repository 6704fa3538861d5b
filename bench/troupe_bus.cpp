#include "bench/troupe_bus.hpp"

#include <atomic>
#include <caf/all.hpp>
#include <nats/nats.h>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include "bus/bridge.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/nats_transport.hpp"
#include "bus/publisher.hpp"
#include "bus/request_client.hpp"
#include "common/metrics.hpp"
#include "messages/message_types.hpp"

namespace troupe::bench {

namespace {

using namespace std::chrono_literals;

constexpr const char* echo_subject = "troupe.bench.svc.echo";
constexpr const char* sink_subject = "troupe.bench.svc.sink";
constexpr const char* count_subject = "bench.troupe.count";

/// `send_asap` as the node sets it: on for its main connection (requests,
/// replies), off for the one that carries one-way traffic.
bus::transport_ptr connect(const std::string& url, bool send_asap) {
  bus::nats_options opts;
  opts.urls = {url};
  opts.name = "bus_rtt";
  opts.send_asap = send_asap;
  auto t = bus::connect_nats(opts);
  if (!t)
    throw std::runtime_error("troupe: cannot connect: " + caf::to_string(t.error()));
  return *t;
}

caf::actor_system_config& system_config() {
  static caf::actor_system_config cfg;
  announce_message_types(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing")); // as the node runs it

  return cfg;
}

std::atomic<uint64_t> sink_count{0};

caf::behavior echo_actor(caf::event_based_actor*) {
  return {[](inbound_atom, bus::inbound& in) {
    auto ping = bus::payload_as<troupe::v1::Ping>(in.env);
    if (!ping)
      return;
    troupe::v1::Pong pong;
    pong.set_seq(ping->seq());
    pong.set_data(std::move(*ping->mutable_data()));
    (void) in.reply->send(bus::make_reply(in.env, pong));
  }};
}

caf::behavior sink_actor(caf::event_based_actor*) {
  return {[](inbound_atom, bus::inbound&) { sink_count.fetch_add(1, std::memory_order_relaxed); }};
}

/// Serves a subject through the bridge; waits until the subscription exists.
void serve(caf::actor_system& sys, const bus::bridge_actor& bridge, const char* subject,
           const std::string& queue, const caf::actor& handler) {
  caf::scoped_actor self{sys};
  self->request(bridge, 5s, serve_atom::value, std::string{subject}, queue, handler, false)
    .receive([](bool) {},
             [&](caf::error& err) {
               throw std::runtime_error("serve failed: " + sys.render(err));
             });
}

struct rtt_state {
  std::optional<bus::request_client> client;
  std::vector<double> samples;
  size_t n = 0;
  std::string payload;
  caf::response_promise done;
  std::chrono::steady_clock::time_point t0;
};

void next_request(caf::stateful_actor<rtt_state>* self) {
  auto& st = self->state;
  if (st.samples.size() == st.n) {
    st.done.deliver(st.samples);
    return;
  }
  troupe::v1::Ping ping;
  ping.set_seq(st.samples.size());
  ping.set_data(st.payload);
  st.t0 = std::chrono::steady_clock::now();
  st.client->request(self, echo_subject, bus::make_envelope(ping), 2s,
                     [self](caf::expected<bus::reply> reply) {
                       auto& st = self->state;
                       if (!reply) {
                         st.done.deliver(reply.error());
                         return;
                       }
                       st.samples.push_back(std::chrono::duration<double, std::micro>(
                                              std::chrono::steady_clock::now() - st.t0)
                                              .count());
                       next_request(self);
                     });
}

caf::behavior rtt_client(caf::stateful_actor<rtt_state>* self, bus::transport_ptr transport) {
  self->state.client.emplace(std::move(transport));
  return {
    [self](ping_atom, size_t n, size_t bytes) {
      auto& st = self->state;
      st.n = n;
      st.payload.assign(bytes, 'x');
      st.samples.clear();
      st.samples.reserve(n);
      st.done = self->make_response_promise();
      next_request(self);
      return st.done;
    },
    [self](reply_atom, uint64_t token, bus::message& m) {
      self->state.client->handle_reply(token, m);
    },
    [self](timeout_atom, uint64_t token) { self->state.client->handle_timeout(token); },
  };
}

uint64_t remote_count(const bus::transport_ptr&, const std::string& url) {
  // The count query is measurement plumbing, not part of what is measured.
  static std::unique_ptr<natsConnection, void (*)(natsConnection*)> nc{nullptr,
                                                                       natsConnection_Destroy};
  if (!nc) {
    natsConnection* raw = nullptr;
    natsConnection_ConnectTo(&raw, url.c_str());
    nc.reset(raw);
  }
  natsMsg* reply = nullptr;
  if (natsConnection_Request(&reply, nc.get(), count_subject, "", 0, 2000) != NATS_OK)
    return 0;
  auto n = std::stoull(std::string(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  return n;
}

} // namespace

int run_troupe_echo(const std::string& url) {
  auto transport = connect(url, true);
  auto registry = metrics::make_registry();
  caf::actor_system sys{system_config()};
  auto bridge = bus::make_bridge(sys, transport, {"bench", "echo-node", 1 << 20, nullptr, nullptr},
                                 *registry);
  auto echo = sys.spawn(echo_actor);
  auto sink = sys.spawn(sink_actor);
  serve(sys, bridge, echo_subject, "echo", echo);
  serve(sys, bridge, sink_subject, "sink", sink);
  auto counter = transport->subscribe(count_subject, "", [transport](bus::message m) {
    auto text = std::to_string(sink_count.exchange(0));
    (void) transport->publish(m.reply, text);
  });
  if (!counter)
    throw std::runtime_error("count subscription failed");
  (void) transport->flush(2000ms);
  std::puts("ready");
  std::fflush(stdout);
  for (;;)
    std::this_thread::sleep_for(1s);
}

std::vector<double> troupe_round_trips(const std::string& url, size_t n, size_t payload_bytes) {
  auto transport = connect(url, true);
  std::vector<double> out;
  {
    caf::actor_system sys{system_config()};
    auto client = sys.spawn(rtt_client, transport);
    caf::scoped_actor self{sys};
    self->request(client, caf::infinite, ping_atom::value, n, payload_bytes)
      .receive([&](std::vector<double>& samples) { out = std::move(samples); },
               [&](caf::error& err) {
                 throw std::runtime_error("troupe request failed: " + sys.render(err));
               });
    self->send_exit(client, caf::exit_reason::user_shutdown);
  }
  (void) transport->drain(2000ms);
  return out;
}

double troupe_throughput(const std::string& url, size_t n, size_t payload_bytes,
                         publish_path path) {
  auto transport = connect(url, true);
  auto one_way = connect(url, false);
  auto registry = metrics::make_registry();
  double rate = 0;
  {
    caf::actor_system sys{system_config()};
    auto bridge = bus::make_bridge(
        sys, transport, {"bench", "client-node", 1 << 20, nullptr, one_way}, *registry);
    remote_count(transport, url); // reset
    troupe::v1::Ping ping;
    ping.set_data(std::string(payload_bytes, 'x'));
    auto env = bus::make_envelope(ping);
    auto t0 = std::chrono::steady_clock::now();
    if (path == publish_path::direct) {
      // The hot path: the actor publishes from its own thread.
      sys.spawn([=](caf::event_based_actor*) mutable {
        bus::publisher out{one_way};
        for (size_t i = 0; i < n; ++i)
          if (out.publish(sink_subject, env))
            throw std::runtime_error("publish failed");
      });
    } else {
      // Each envelope is a message to the bridge actor.
      sys.spawn([=](caf::event_based_actor* self) {
        for (size_t i = 0; i < n; ++i)
          self->send(bridge, publish_atom::value, std::string{sink_subject}, env);
      });
    }
    uint64_t seen = 0;
    while (seen < n && std::chrono::steady_clock::now() - t0 < 60s) {
      seen += remote_count(transport, url);
      if (seen < n)
        std::this_thread::sleep_for(1ms);
    }
    rate = static_cast<double>(n)
           / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (seen < n)
      throw std::runtime_error("troupe: only " + std::to_string(seen) + " of "
                               + std::to_string(n) + " envelopes arrived");
    caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
  }
  (void) one_way->drain(2000ms);
  (void) transport->drain(2000ms);
  return rate;
}

} // namespace troupe::bench
