// The provider pool: many calls on a few threads, in order, cancellable,
// retrying on timers, and ending every call exactly once.
#include "actors/inference/provider_pool.hpp"

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/inference/errc.hpp"
#include "tests/inference/provider_calls.hpp"
#include "tests/support/fake_openai_server.hpp"
#include "tests/support/free_port.hpp"

using namespace std::chrono_literals;
using troupe::inference::errc;
using troupe::inference::is;
using troupe::inference::provider_pool;
using troupe::test::call_probe;
using troupe::test::content_chunk;
using troupe::test::fake_openai_server;
using troupe::test::hello;
using troupe::test::scripted_response;
using troupe::test::seconds_since;
using troupe::test::sse_data;
using troupe::test::start_call;
using troupe::test::stream_piece;
using troupe::test::test_provider;

namespace {

size_t thread_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator{"/proc/self/task"})
    ++n;
  return n;
}

/// Waits up to `limit` for `cond`, checking every few milliseconds.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = 5s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool ended(call_probe& probe, std::chrono::milliseconds limit = 5s) {
  return probe.result().wait_for(limit) == std::future_status::ready;
}

/// A stream of `n` content pieces "p0 ", "p1 ", ... each `gap` after the last.
scripted_response slow_stream(int n, std::chrono::milliseconds gap) {
  std::vector<stream_piece> pieces;
  for (int i = 0; i < n; ++i)
    pieces.push_back({sse_data(content_chunk("p" + std::to_string(i) + " ")), gap});
  pieces.push_back({sse_data(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"), {}});
  pieces.push_back({sse_data("[DONE]"), {}});
  return scripted_response::sse(std::move(pieces));
}

} // namespace

TEST_CASE("a streamed call delivers its deltas in order on one pool thread, then done once") {
  fake_openai_server server;
  server.push(slow_stream(5, 10ms));
  provider_pool pool{2};
  std::mutex mtx;
  std::vector<std::string> deltas;
  std::set<std::thread::id> delta_threads;
  std::promise<caf::expected<troupe::v1::GenerateResult>> result;
  std::atomic<int> dones{0};
  size_t deltas_at_done = 0;
  std::thread::id done_thread;
  pool.start({test_provider(server.base_url()),
              std::make_shared<const troupe::v1::GenerateRequest>(hello()), "m",
              [&](std::string_view d) {
                std::lock_guard lock{mtx};
                deltas.emplace_back(d);
                delta_threads.insert(std::this_thread::get_id());
              },
              [&](caf::expected<troupe::v1::GenerateResult> r) {
                {
                  std::lock_guard lock{mtx};
                  deltas_at_done = deltas.size();
                  done_thread = std::this_thread::get_id();
                }
                if (++dones == 1)
                  result.set_value(std::move(r));
              }});
  auto f = result.get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE(r);
  CHECK(r->message().content() == "p0 p1 p2 p3 p4 ");
  CHECK(r->provider() == "fake");
  std::lock_guard lock{mtx};
  CHECK(deltas == std::vector<std::string>{"p0 ", "p1 ", "p2 ", "p3 ", "p4 "});
  CHECK(deltas_at_done == 5);
  REQUIRE(delta_threads.size() == 1);
  CHECK(*delta_threads.begin() == done_thread);
  CHECK(done_thread != std::this_thread::get_id());
  CHECK(dones == 1);
  // Counted until done returns, a moment after the result was handed over.
  CHECK(eventually([&] { return pool.in_flight() == 0; }));
}

TEST_CASE("32 concurrent slow streams run on the pool's threads and no others") {
  fake_openai_server server;
  constexpr int calls = 32;
  for (int i = 0; i < calls; ++i)
    server.push(slow_stream(8, 100ms)); // 0.8 s each: 25 s one after another
  auto before = thread_count();
  provider_pool pool{2};
  std::vector<std::unique_ptr<call_probe>> probes;
  std::set<uint32_t> workers;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    probes.push_back(std::make_unique<call_probe>());
    workers.insert(start_call(pool, test_provider(server.base_url()), hello(), *probes.back(), true)
                       .worker);
  }
  CHECK(workers.size() == 2); // spread over both threads
  size_t most = thread_count();
  auto all_done = [&] {
    for (auto& p : probes)
      if (p->dones() == 0)
        return false;
    return true;
  };
  for (auto until = start + 20s; !all_done() && std::chrono::steady_clock::now() < until;) {
    most = std::max(most, thread_count());
    std::this_thread::sleep_for(10ms);
  }
  auto took = seconds_since(start);
  REQUIRE(all_done());
  CHECK(took < 5.0);
  CHECK(static_cast<long>(most) - static_cast<long>(before) <= static_cast<long>(pool.threads()));
  for (auto& p : probes) {
    auto r = p->result().get();
    REQUIRE(r);
    CHECK(r->message().content() == "p0 p1 p2 p3 p4 p5 p6 p7 ");
    CHECK(p->deltas().size() == 8);
    CHECK(p->dones() == 1);
  }
  CHECK(server.requests().size() == calls);
  CHECK(eventually([&] { return pool.in_flight() == 0; }));
}

TEST_CASE("cancelling a slow stream ends it at once, and the provider sees the connection close") {
  fake_openai_server server;
  std::vector<stream_piece> pieces{{sse_data(content_chunk("one")), {}},
                                   {sse_data(content_chunk("two")), 500ms}};
  for (int i = 0; i < 40; ++i) // 2.5 s more: the stream would still be running
    pieces.push_back({sse_data(content_chunk(".")), 50ms});
  pieces.push_back({sse_data("[DONE]"), {}});
  server.push(scripted_response::sse(std::move(pieces)));
  provider_pool pool{1};
  std::promise<void> first;
  std::atomic<int> seen{0};
  call_probe probe;
  auto deltas = probe.deltas_fn();
  auto h = pool.start({test_provider(server.base_url()),
                       std::make_shared<const troupe::v1::GenerateRequest>(hello()), "m",
                       [&](std::string_view d) {
                         deltas(d);
                         if (++seen == 1)
                           first.set_value();
                       },
                       probe.done_fn()});
  REQUIRE(first.get_future().wait_for(5s) == std::future_status::ready);
  auto start = std::chrono::steady_clock::now();
  pool.cancel(h);
  REQUIRE(ended(probe));
  CHECK(seconds_since(start) < 0.5); // the next piece was 500 ms away
  auto r = probe.result().get();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::cancelled));
  CHECK(troupe::test::message_of(r.error()) == "provider fake: the caller cancelled the request");
  CHECK(probe.deltas() == std::vector<std::string>{"one"});
  CHECK(eventually([&] { return server.streams_abandoned() == 1; }, 2s));
  pool.cancel(h); // already over: nothing happens
  std::this_thread::sleep_for(20ms);
  CHECK(probe.dones() == 1);
}

TEST_CASE("a call in its backoff holds no thread, and cancelling it ends the wait") {
  fake_openai_server server;
  server.push(scripted_response::json(503, "{}", {{"Retry-After", "2"}}));
  provider_pool pool{1};
  call_probe waiting;
  auto h = start_call(pool, test_provider(server.base_url()), hello(), waiting, false);
  REQUIRE(eventually([&] { return server.requests().size() == 1; }));
  // The one thread is free while the first call waits out its Retry-After.
  call_probe other;
  auto start = std::chrono::steady_clock::now();
  start_call(pool, test_provider(server.base_url()), hello(), other, true);
  REQUIRE(ended(other));
  CHECK(seconds_since(start) < 1.5); // well before the first call's retry
  CHECK(other.result().get());
  CHECK(waiting.dones() == 0);
  pool.cancel(h);
  REQUIRE(ended(waiting, 500ms));
  auto r = waiting.result().get();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::cancelled));
  CHECK(server.requests().size() == 2); // the cancelled call never tried again
}

TEST_CASE("refused connections are retried with growing backoff, then backend_unavailable") {
  troupe::test::closed_port nobody;
  auto o = test_provider("http://127.0.0.1:" + std::to_string(nobody.port()) + "/v1");
  o.max_retries = 3;
  o.backoff_initial = 100ms;
  o.backoff_max = 400ms;
  provider_pool pool{1};
  call_probe probe;
  auto start = std::chrono::steady_clock::now();
  start_call(pool, o, hello(), probe, true);
  REQUIRE(ended(probe));
  auto took = seconds_since(start);
  auto r = probe.result().get();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::backend_unavailable));
  CHECK(troupe::test::message_of(r.error()).find("4 attempts") != std::string::npos);
  // Each delay is half fixed, half random: at least 50 + 100 + 200 ms.
  CHECK(took >= 0.35);
  CHECK(took < 2.0);
}

TEST_CASE("5xx answers are retried on the pool's timers until one succeeds") {
  fake_openai_server server;
  server.push(scripted_response::json(502, "{}"));
  server.push(scripted_response::json(500, "{}"));
  auto o = test_provider(server.base_url());
  o.backoff_initial = 100ms;
  o.backoff_max = 400ms;
  provider_pool pool{1};
  call_probe probe;
  auto start = std::chrono::steady_clock::now();
  start_call(pool, o, hello(), probe, true);
  REQUIRE(ended(probe));
  auto r = probe.result().get();
  REQUIRE(r);
  CHECK(r->message().content() == "fake heard: hi");
  CHECK(server.requests().size() == 3);
  CHECK(seconds_since(start) >= 0.15); // 50..100 ms, then 100..200 ms
}

TEST_CASE("a hung provider times out without holding up the thread's other calls") {
  fake_openai_server server;
  server.push(scripted_response::hang());
  auto o = test_provider(server.base_url());
  o.request_timeout = 1500ms;
  provider_pool pool{1};
  call_probe hung;
  auto start = std::chrono::steady_clock::now();
  start_call(pool, o, hello(), hung, false); // a stream would meet its idle timeout first
  REQUIRE(eventually([&] { return server.requests().size() == 1; }));
  call_probe quick;
  start_call(pool, o, hello(), quick, false);
  REQUIRE(ended(quick, 1s));
  CHECK(quick.result().get());
  CHECK(hung.dones() == 0);
  REQUIRE(ended(hung));
  auto took = seconds_since(start);
  auto r = hung.result().get();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::timeout));
  CHECK(took >= 1.45);
  CHECK(took < 3.0);
  CHECK(eventually([&] { return server.hangs_abandoned() == 1; }));
}

TEST_CASE("an unusable request ends in done before any network call") {
  fake_openai_server server;
  provider_pool pool{1};
  call_probe probe;
  start_call(pool, test_provider(server.base_url()), troupe::v1::GenerateRequest{}, probe, true);
  REQUIRE(ended(probe));
  auto r = probe.result().get();
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::invalid_request));
  CHECK(server.requests().empty());
}

TEST_CASE("destroying the pool cancels every call in flight, each done exactly once") {
  fake_openai_server server;
  constexpr int hangs = 3;
  for (int i = 0; i < hangs; ++i)
    server.push(scripted_response::hang());
  std::vector<std::unique_ptr<call_probe>> probes;
  auto pool = std::make_unique<provider_pool>(2);
  for (int i = 0; i < hangs; ++i) {
    probes.push_back(std::make_unique<call_probe>());
    start_call(*pool, test_provider(server.base_url()), hello(), *probes.back(), false);
  }
  REQUIRE(eventually([&] { return server.requests().size() == hangs; }));
  server.push(slow_stream(50, 100ms));
  probes.push_back(std::make_unique<call_probe>());
  start_call(*pool, test_provider(server.base_url()), hello(), *probes.back(), true);
  REQUIRE(eventually([&] { return !probes.back()->deltas().empty(); }));
  server.push(scripted_response::json(503, "{}", {{"Retry-After", "5"}}));
  probes.push_back(std::make_unique<call_probe>());
  start_call(*pool, test_provider(server.base_url()), hello(), *probes.back(), false);
  REQUIRE(eventually([&] { return server.requests().size() == hangs + 2; }));
  // Perhaps still queued, not yet seen by its thread.
  probes.push_back(std::make_unique<call_probe>());
  start_call(*pool, test_provider(server.base_url()), hello(), *probes.back(), true);

  auto start = std::chrono::steady_clock::now();
  pool.reset();
  CHECK(seconds_since(start) < 1.0);
  for (auto& p : probes) {
    REQUIRE(ended(*p, 0ms));
    CHECK(p->dones() == 1);
    auto r = p->result().get();
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::cancelled));
  }
  CHECK(eventually([&] { return server.hangs_abandoned() == hangs; }));
}

TEST_CASE("a done callback may start the next call on the pool") {
  fake_openai_server server;
  provider_pool pool{1};
  call_probe second;
  std::promise<bool> first_done;
  pool.start({test_provider(server.base_url()),
              std::make_shared<const troupe::v1::GenerateRequest>(hello()), "m", {},
              [&](caf::expected<troupe::v1::GenerateResult> r) {
                start_call(pool, test_provider(server.base_url()), hello(), second, true);
                first_done.set_value(static_cast<bool>(r));
              }});
  auto first = first_done.get_future();
  REQUIRE(first.wait_for(5s) == std::future_status::ready);
  CHECK(first.get());
  REQUIRE(ended(second));
  CHECK(second.result().get());
  CHECK(server.requests().size() == 2);
}
