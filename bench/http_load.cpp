#include "bench/http_load.hpp"

#include <algorithm>
#include <mutex>
#include <thread>

#include "bench/beast.hpp"

namespace troupe::bench {

using clock = std::chrono::steady_clock;

namespace {

struct shared_tally {
  std::mutex mutex;
  std::vector<float> latencies_us;
  size_t failures = 0;
};

net::awaitable<void> client(uint16_t port, const std::string& request, clock::time_point until,
                            shared_tally& tally) {
  std::vector<float> mine;
  size_t failures = 0;
  beast::tcp_stream stream{co_await net::this_coro::executor};
  beast::error_code ec;
  co_await stream.async_connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port},
                                net::redirect_error(net::use_awaitable, ec));
  stream.socket().set_option(tcp::no_delay(true), ec);
  beast::flat_buffer buffer;
  while (!ec && clock::now() < until) {
    auto t0 = clock::now();
    co_await net::async_write(stream, net::buffer(request),
                              net::redirect_error(net::use_awaitable, ec));
    http::response<http::string_body> res;
    if (!ec)
      co_await http::async_read(stream, buffer, res, net::redirect_error(net::use_awaitable, ec));
    if (ec || res.result_int() != 200) {
      ++failures;
      break;
    }
    mine.push_back(std::chrono::duration<float, std::micro>(clock::now() - t0).count());
  }
  std::lock_guard lock{tally.mutex};
  tally.latencies_us.insert(tally.latencies_us.end(), mine.begin(), mine.end());
  tally.failures += failures;
}

} // namespace

load_result run_load(uint16_t port, const std::vector<std::string>& requests, size_t connections,
                     size_t client_threads, std::chrono::milliseconds duration) {
  net::io_context ioc{static_cast<int>(client_threads)};
  shared_tally tally;
  auto start = clock::now();
  auto until = start + duration;
  for (size_t i = 0; i < connections; ++i)
    net::co_spawn(net::make_strand(ioc), client(port, requests.at(i % requests.size()), until, tally),
                  net::detached);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < client_threads; ++i)
    threads.emplace_back([&] { ioc.run(); });
  for (auto& t : threads)
    t.join();
  auto seconds = std::chrono::duration<double>(clock::now() - start).count();
  load_result r;
  r.failures = tally.failures;
  auto& v = tally.latencies_us;
  if (v.empty())
    return r;
  std::sort(v.begin(), v.end());
  r.requests_per_second = static_cast<double>(v.size()) / seconds;
  r.p50_us = v[v.size() / 2];
  r.p99_us = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  return r;
}

} // namespace troupe::bench
