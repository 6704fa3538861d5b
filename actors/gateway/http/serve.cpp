#include "actors/gateway/http/serve.hpp"

#include <array>

#include "actors/gateway/http/chat_json.hpp"
#include "actors/gateway/http/exchange.hpp"
#include "actors/gateway/http/routes.hpp"
#include "common/logging.hpp"

namespace troupe::gateway::http {

namespace {

using parser_t = bhttp::request_parser<bhttp::string_body>;

std::string_view text(beast::string_view s) {
  return {s.data(), s.size()};
}

/// Writes `e` with Connection: close, then lets the client's unread bytes
/// drain for a moment before the close: closing with unread input sends a
/// reset, which can destroy the answer before the client reads it.
net::awaitable<void> answer_and_close(connection& c, server_context& ctx, const http_error& e,
                                      error_style style) {
  auto res = json_response(e.status, error_text(e, style), 11, false);
  c.arm_after(ctx.opts.read_timeout);
  beast::error_code ec;
  co_await bhttp::async_write(c.stream, res, net::redirect_error(net::use_awaitable, ec));
  if (ec)
    co_return;
  c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  c.arm_after(std::chrono::milliseconds{500}); // the connection ends after this: no disarm
  std::array<char, 4096> sink{}; // not a C array: GCC 12 cannot put one in a coroutine frame
  for (size_t drained = 0; !ec && drained < ctx.opts.max_body_bytes;)
    drained += co_await c.stream.async_read_some(net::buffer(sink),
                                                 net::redirect_error(net::use_awaitable, ec));
}

/// The answer to a request that could not be read; nullopt: say nothing
/// (the client left, timed out, or the server is stopping).
std::optional<http_error> read_failure(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit)
    return http_error{431, "header_too_large", "the request headers are too large"};
  if (ec == bhttp::error::body_limit)
    return http_error{413, "body_too_large", "the request body is too large"};
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message
      || ec == beast::error::timeout || ec == net::error::operation_aborted
      || ec == net::error::connection_reset || ec == net::error::eof
      || ec == net::error::bad_descriptor)
    return std::nullopt;
  return http_error{400, "bad_request", "malformed request: " + ec.message()};
}

/// Reads one request within the limits; the error when it could not.
net::awaitable<beast::error_code> read_request(connection& c, server_context& ctx,
                                               parser_t& parser) {
  beast::error_code ec;
  if (c.buffer.size() == 0) { // idle between requests: wait for the first byte
    c.arm_after(ctx.opts.idle_timeout);
    auto n = co_await c.stream.async_read_some(c.buffer.prepare(4096),
                                               net::redirect_error(net::use_awaitable, ec));
    c.disarm();
    c.buffer.commit(n);
    if (ec)
      co_return ec;
  }
  // One deadline for the whole request, however slowly its bytes come.
  c.arm(clock::now() + ctx.opts.read_timeout);
  co_await bhttp::async_read_header(c.stream, c.buffer, parser,
                                    net::redirect_error(net::use_awaitable, ec));
  if (!ec && !parser.is_done()
      && beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
    bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
    co_await bhttp::async_write(c.stream, go_on, net::redirect_error(net::use_awaitable, ec));
  }
  if (!ec && !parser.is_done())
    co_await bhttp::async_read(c.stream, c.buffer, parser,
                               net::redirect_error(net::use_awaitable, ec));
  c.disarm();
  co_return ec;
}

/// Routes and answers one request; true when the connection may serve another.
net::awaitable<bool> answer(connection& c, server_context& ctx, const request& req,
                            clock::time_point started) {
  auto target = text(req.target());
  auto m = match_route(target);
  exchange x{c, ctx, req, m.r != nullptr ? m.r->style : error_style::native, std::move(m.id)};
  auto h = m.r != nullptr ? m.r->for_method(req.method()) : nullptr;
  std::optional<http_error> threw;
  if (m.r == nullptr) {
    co_await x.fail(
        {404, "not_found", "no route " + std::string{target.substr(0, target.find('?'))}});
  } else if (h == nullptr) {
    headers allow{{"Allow", std::string{m.r->allow}}}; // not inside co_await: GCC 12 rejects it
    co_await x.fail({405, "method_not_allowed", "this route serves " + std::string{m.r->allow}},
                    std::move(allow));
  } else if (x.id().size() > max_id_bytes) {
    co_await x.fail(
        invalid_field("id", "must be at most " + std::to_string(max_id_bytes) + " bytes"));
  } else {
    try {
      co_await h(x);
    } catch (const std::exception& e) {
      threw = http_error{500, "internal_error", e.what()};
    }
    if (threw) {
      log::get("gateway")->warn("{} {} failed: {}", text(req.method_string()), m.r->pattern,
                                threw->message);
      if (x.status() == 0 && !x.interrupted())
        co_await x.fail(*threw);
    }
  }
  if (x.status() != 0)
    ctx.metrics.request(m.r != nullptr ? m.r->pattern : "other", x.status(),
                        clock::now() - started);
  co_return !threw && x.status() != 0 && x.keep_alive();
}

} // namespace

net::awaitable<void> serve(std::shared_ptr<connection> c, server_context& ctx) {
  for (bool more = true; more && !c->interrupted();) {
    parser_t parser;
    parser.header_limit(static_cast<uint32_t>(ctx.opts.max_header_bytes));
    parser.body_limit(ctx.opts.max_body_bytes);
    auto started = clock::now();
    auto ec = co_await read_request(*c, ctx, parser);
    if (ec) {
      if (auto e = read_failure(ec); e && !c->closing) {
        ctx.metrics.request("other", e->status, clock::now() - started);
        co_await answer_and_close(*c, ctx, *e, style_for(text(parser.get().target())));
      }
      co_return;
    }
    more = co_await answer(*c, ctx, parser.get(), started);
  }
  beast::error_code ignored;
  c->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

net::awaitable<void> refuse(std::shared_ptr<connection> c, server_context& ctx) {
  ctx.metrics.request("other", 503, {});
  co_await answer_and_close(*c, ctx,
                            {503, "too_many_connections", "the gateway is at its connection limit"},
                            error_style::native);
}

} // namespace troupe::gateway::http
