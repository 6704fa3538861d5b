#pragma once
/// One request on a connection, from the parsed request to the last byte of
/// its answer, as the route handlers see it: authentication and rate limit,
/// the JSON body, backend calls that wait on the connection's strand, and
/// the answer (one JSON body, or a stream of frames). Lives in the
/// connection's coroutine frame.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "actors/gateway/http/connection.hpp"
#include "actors/gateway/http/http_error.hpp"
#include "actors/gateway/http/server_context.hpp"

namespace troupe::gateway::http {

struct header {
  std::string name;
  std::string value;
};
using headers = std::vector<header>;

/// A JSON answer with Content-Length, for `version` (10 or 11).
bhttp::response<bhttp::string_body> json_response(unsigned status, std::string body,
                                                  unsigned version, bool keep_alive);

/// Runs `f`; what it throws becomes a 500 internal_error (Asio coroutines
/// cannot co_await inside a catch block, so callers answer afterwards).
template <class F> std::optional<http_error> guarded(F&& f) {
  try {
    f();
    return std::nullopt;
  } catch (const std::exception& e) {
    return http_error{500, "internal_error", e.what()};
  } catch (...) {
    return http_error{500, "internal_error", "a non-standard exception"};
  }
}

class exchange {
public:
  exchange(connection& c, server_context& ctx, const request& req, error_style style,
           std::string id);
  ~exchange();
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  const request& req() const noexcept { return req_; }
  server_context& ctx() noexcept { return ctx_; }
  connection& conn() noexcept { return conn_; }
  /// The {id} of the route pattern, percent-decoded.
  const std::string& id() const noexcept { return id_; }
  /// Who asks; set by admit().
  const troupe::v1::Principal& principal() const noexcept { return principal_; }
  /// stop() reached the connection or the client hung up: answer nothing more.
  bool interrupted() const noexcept { return conn_.interrupted(); }
  std::optional<std::string> query(std::string_view name) const;

  /// Authenticates the request's credentials and takes a token from the
  /// principal's bucket; false when it has answered (401, 403, 429, ...).
  net::awaitable<bool> admit();

  /// The request body as a JSON object; nullopt when it has answered 415
  /// (not application/json) or 400 (invalid_json, not an object).
  net::awaitable<std::optional<nlohmann::json>> json_body();

  template <class T> mailbox<T> make_mailbox() const { return mailbox<T>{ctx_.gate, conn_.wake}; }

  /// Starts a backend or authenticator call (`start` gets the callback<T>)
  /// and waits for its answer up to call_timeout; nullopt when it has
  /// answered the refusal (or 504 backend_timeout, or nothing when interrupted).
  template <class T, class Start> net::awaitable<std::optional<T>> call(Start start);

  /// 200 with `body` (HEAD: its headers only).
  net::awaitable<void> reply(const nlohmann::json& body, headers extra = {});
  /// The error in the route's shape; 401 adds WWW-Authenticate: Bearer.
  net::awaitable<void> fail(const http_error& e, headers extra = {});

  /// 200 text/event-stream, chunked; false when the client is gone.
  net::awaitable<bool> open_stream(headers extra);
  bool stream_open() const noexcept { return stream_open_; }
  /// Writes (and so flushes) `frames`; false when the client is gone.
  net::awaitable<bool> send(std::string_view frames);
  net::awaitable<void> close_stream();

  /// The status answered; 0 before the answer.
  unsigned status() const noexcept { return status_; }
  /// Whether the connection may serve another request after this one.
  bool keep_alive() const noexcept;

private:
  net::awaitable<void> write(unsigned status, std::string body, const headers& extra);
  void arm_write_timeout();

  connection& conn_;
  server_context& ctx_;
  const request& req_;
  error_style style_;
  std::string id_;
  troupe::v1::Principal principal_;
  unsigned status_ = 0;
  bool stream_open_ = false;
  bool chunked_ = false;
  bool broken_ = false; // a write failed or the stream cannot be reused
};

template <class T, class Start> net::awaitable<std::optional<T>> exchange::call(Start start) {
  auto box = make_mailbox<result<T>>();
  if (auto threw = guarded([&] { start(callback<T>{box.sender()}); })) {
    co_await fail(*threw);
    co_return std::nullopt;
  }
  auto got =
      co_await box.next(clock::now() + ctx_.opts.call_timeout, [this] { return interrupted(); });
  if (!got) {
    if (!interrupted())
      co_await fail({504, "backend_timeout", "the backend did not answer in time"});
    co_return std::nullopt;
  }
  if (auto* e = std::get_if<api_error>(&*got)) {
    co_await fail(from_api(*e));
    co_return std::nullopt;
  }
  co_return std::optional<T>{std::get<T>(std::move(*got))};
}

} // namespace troupe::gateway::http
