#include "bench/raw_nats.hpp"

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace troupe::bench {

namespace {

natsConnection* connect(const std::string& url) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetSendAsap(opts, true);
  natsConnection* nc = nullptr;
  auto s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK)
    throw std::runtime_error("raw: cannot connect to " + url);
  return nc;
}

std::atomic<uint64_t> sink_count{0};

void on_echo(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
}

void on_sink(natsConnection*, natsSubscription*, natsMsg* msg, void*) {
  sink_count.fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

void on_count(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  auto text = std::to_string(sink_count.exchange(0));
  natsConnection_Publish(nc, natsMsg_GetReply(msg), text.data(), static_cast<int>(text.size()));
  natsMsg_Destroy(msg);
}

uint64_t remote_count(natsConnection* nc) {
  natsMsg* reply = nullptr;
  if (natsConnection_Request(&reply, nc, "bench.raw.count", "", 0, 2000) != NATS_OK)
    return 0;
  auto n = std::stoull(std::string(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)));
  natsMsg_Destroy(reply);
  return n;
}

} // namespace

int run_raw_echo(const std::string& url) {
  auto* nc = connect(url);
  natsSubscription *echo = nullptr, *sink = nullptr, *count = nullptr;
  natsConnection_Subscribe(&echo, nc, "bench.raw.echo", on_echo, nullptr);
  natsConnection_Subscribe(&sink, nc, "bench.raw.sink", on_sink, nullptr);
  natsConnection_Subscribe(&count, nc, "bench.raw.count", on_count, nullptr);
  // Slow consumers would drop messages and spoil the count: lift the limits.
  natsSubscription_SetPendingLimits(sink, -1, -1);
  natsConnection_Flush(nc);
  std::puts("ready");
  std::fflush(stdout);
  for (;;)
    std::this_thread::sleep_for(std::chrono::seconds(1));
}

std::vector<double> raw_round_trips(const std::string& url, size_t n, size_t payload_bytes) {
  auto* nc = connect(url);
  std::string payload(payload_bytes, 'x');
  std::vector<double> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    natsMsg* reply = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    if (natsConnection_Request(&reply, nc, "bench.raw.echo", payload.data(),
                               static_cast<int>(payload.size()), 2000)
        != NATS_OK)
      throw std::runtime_error("raw: request failed");
    out.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                    .count());
    natsMsg_Destroy(reply);
  }
  natsConnection_Destroy(nc);
  return out;
}

double raw_throughput(const std::string& url, size_t n, size_t payload_bytes) {
  auto* nc = connect(url);
  remote_count(nc); // reset
  std::string payload(payload_bytes, 'x');
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i)
    natsConnection_Publish(nc, "bench.raw.sink", payload.data(), static_cast<int>(payload.size()));
  natsConnection_Flush(nc);
  uint64_t seen = 0;
  while (seen < n && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    seen += remote_count(nc);
    if (seen < n)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  natsConnection_Destroy(nc);
  if (seen < n)
    throw std::runtime_error("raw: only " + std::to_string(seen) + " of " + std::to_string(n)
                             + " messages arrived");
  return static_cast<double>(n) / secs;
}

} // namespace troupe::bench
