#include "bench/sse_client.hpp"

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "bench/beast.hpp"

namespace troupe::bench {

namespace {

using clock = std::chrono::steady_clock;

double us_between(clock::time_point a, clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

/// True for an event that carries a piece of the answer's text.
bool carries_token(std::string_view event) {
  constexpr std::string_view prefix = "data: ";
  if (!event.starts_with(prefix))
    return false; // comments (": ping") and other fields
  event.remove_prefix(prefix.size());
  if (event == "[DONE]")
    return false;
  auto j = nlohmann::json::parse(event, nullptr, false);
  if (!j.is_object() || !j["choices"].is_array() || j["choices"].empty())
    return false;
  const auto& content = j["choices"][0]["delta"]["content"];
  return content.is_string() && !content.get_ref<const std::string&>().empty();
}

struct tally {
  std::mutex mutex;
  stream_samples samples;
};

net::awaitable<beast::error_code> open(std::optional<beast::tcp_stream>& stream, uint16_t port) {
  stream.emplace(co_await net::this_coro::executor);
  beast::error_code ec;
  co_await stream->async_connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port},
                                 net::redirect_error(net::use_awaitable, ec));
  if (!ec)
    stream->socket().set_option(tcp::no_delay(true), ec);
  co_return ec;
}

net::awaitable<void> client(uint16_t port, const std::string& request, size_t streams,
                            size_t tokens, tally& out) {
  stream_samples mine;
  std::optional<beast::tcp_stream> stream;
  auto ec = co_await open(stream, port);
  beast::flat_buffer buffer;
  std::vector<clock::time_point> arrivals;
  for (size_t i = 0; i < streams && !ec; ++i) {
    std::string pending; // body bytes not yet cut into events
    auto take_body = [&](uint64_t, beast::string_view body, beast::error_code&) {
      pending.append(body.data(), body.size());
      return body.size();
    };
    http::response_parser<http::empty_body> parser;
    parser.on_chunk_body(take_body); // kept by reference: declared before the parser
    arrivals.clear();
    auto sent = clock::now();
    co_await net::async_write(*stream, net::buffer(request),
                              net::redirect_error(net::use_awaitable, ec));
    while (!ec && !parser.is_done()) {
      co_await http::async_read_some(*stream, buffer, parser,
                                     net::redirect_error(net::use_awaitable, ec));
      auto now = clock::now();
      for (auto end = pending.find("\n\n"); end != std::string::npos; end = pending.find("\n\n")) {
        if (carries_token(std::string_view{pending}.substr(0, end)))
          arrivals.push_back(now);
        pending.erase(0, end + 2);
      }
    }
    if (ec || parser.get().result_int() != 200 || arrivals.size() != tokens) {
      ++mine.failures;
      break;
    }
    mine.sent.push_back(sent);
    mine.ttft_us.push_back(us_between(sent, arrivals.front()));
    for (size_t t = 1; t < arrivals.size(); ++t)
      mine.gap_us.push_back(us_between(arrivals[t - 1], arrivals[t]));
    if (!parser.get().keep_alive()) {
      buffer.clear();
      ec = co_await open(stream, port);
    }
  }
  std::lock_guard lock{out.mutex};
  auto& all = out.samples;
  all.ttft_us.insert(all.ttft_us.end(), mine.ttft_us.begin(), mine.ttft_us.end());
  all.gap_us.insert(all.gap_us.end(), mine.gap_us.begin(), mine.gap_us.end());
  all.sent.insert(all.sent.end(), mine.sent.begin(), mine.sent.end());
  all.failures += mine.failures;
}

} // namespace

stream_samples run_streams(uint16_t port, const std::vector<std::string>& requests, size_t clients,
                           size_t streams, size_t tokens) {
  // One thread: every client spends its time waiting for the next token.
  net::io_context ioc{1};
  tally out;
  for (size_t i = 0; i < clients; ++i)
    net::co_spawn(ioc, client(port, requests.at(i % requests.size()), streams, tokens, out),
                  net::detached);
  ioc.run();
  return std::move(out.samples);
}

} // namespace troupe::bench
