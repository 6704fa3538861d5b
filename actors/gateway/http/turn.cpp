#include "actors/gateway/http/turn.hpp"

#include <algorithm>
#include <variant>

namespace troupe::gateway::http {

namespace {

using event = std::variant<troupe::v1::TurnChunk, result<troupe::v1::TurnResult>>;

const http_error turn_timeout{504, "turn_timeout", "the turn did not finish in time"};
const http_error bad_idempotency_key{
  400, "invalid_idempotency_key",
  "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)"};

/// The request's Idempotency-Key: nullopt when it has none, an empty string
/// when the header is there but malformed.
std::optional<std::string> idempotency_key_of(const request& req) {
  auto it = req.find("Idempotency-Key");
  if (it == req.end())
    return std::nullopt;
  std::string_view key{it->value().data(), it->value().size()};
  bool ok = !key.empty() && key.size() <= 255
            && std::all_of(key.begin(), key.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  return ok ? std::string{key} : std::string{};
}

/// What a running turn waits for, and when to give up or ping.
struct turn_state {
  exchange& x;
  turn_view& view;
  bool stream;
  std::string session_id; // for X-Session-ID: known up front, or from the first chunk
  clock::time_point deadline;
  clock::time_point ping_at;

  bool replayed = false;  // the answer of an earlier try with the same Idempotency-Key

  headers session_header() const {
    headers out;
    if (!session_id.empty())
      out.push_back({"X-Session-ID", session_id});
    if (replayed)
      out.push_back({"Idempotent-Replayed", "true"});
    return out;
  }

  /// Opens the stream if needed, then writes `frames`; false once the client is gone.
  // co_await stays out of conditions that hold temporaries: GCC 12 breaks
  // those coroutines (an illegal instruction at resumption).
  net::awaitable<bool> emit(std::string_view frames) {
    if (!x.stream_open()) {
      auto opened = co_await x.open_stream(session_header());
      if (!opened)
        co_return false;
    }
    ping_at = clock::now() + x.ctx().opts.heartbeat_interval;
    co_return co_await x.send(frames);
  }

  net::awaitable<void> end_with(const http_error& e) {
    if (!x.stream_open()) {
      co_await x.fail(e);
      co_return;
    }
    auto frames = view.failed(e);
    auto sent = co_await x.send(frames);
    if (sent)
      co_await x.close_stream();
  }

  net::awaitable<void> finish(result<troupe::v1::TurnResult> r) {
    if (auto* e = std::get_if<api_error>(&r)) {
      co_await end_with(from_api(*e));
      co_return;
    }
    auto& done = std::get<troupe::v1::TurnResult>(r);
    session_id = done.session_id();
    replayed = done.replayed();
    if (!stream) {
      co_await x.reply(view.answer(done), session_header());
      co_return;
    }
    auto frames = view.done(done);
    auto sent = co_await emit(frames);
    if (sent)
      co_await x.close_stream();
  }
};

} // namespace

net::awaitable<void> run_turn(exchange& x, turn_input in, turn_view& view) {
  if (auto key = idempotency_key_of(x.req())) {
    if (key->empty()) {
      co_await x.fail(bad_idempotency_key);
      co_return;
    }
    in.idempotency_key = std::move(*key);
  }
  auto now = clock::now();
  turn_state t{x,
               view,
               in.stream,
               in.session_id,
               now + x.ctx().opts.turn_timeout,
               now + x.ctx().opts.heartbeat_interval};
  auto box = x.make_mailbox<event>();
  auto send = box.sender();
  cancel_fn cancel;
  auto threw = guarded([&] {
    cancel = x.ctx().backend->chat(
        std::move(in), [send](const troupe::v1::TurnChunk& c) { send(c); },
        [send](result<troupe::v1::TurnResult> r) { send(std::move(r)); });
  });
  if (threw) {
    co_await x.fail(*threw);
    co_return;
  }
  auto give_up = [&] {
    if (cancel)
      cancel();
  };
  x.conn().watch_for_hangup();
  for (;;) {
    auto until = t.stream ? std::min(t.deadline, t.ping_at) : t.deadline;
    auto ev = co_await box.next(until, [&x] { return x.interrupted(); });
    if (!ev) {
      if (x.interrupted()) {
        give_up();
        break;
      }
      if (clock::now() >= t.deadline) {
        give_up();
        co_await t.end_with(turn_timeout);
        break;
      }
      auto pinged = co_await t.emit(": ping\n\n");
      if (!pinged) {
        give_up();
        break;
      }
      continue;
    }
    if (auto* chunk = std::get_if<troupe::v1::TurnChunk>(&*ev)) {
      if (!t.stream)
        continue;
      if (t.session_id.empty())
        t.session_id = chunk->session_id();
      auto frames = view.chunk(*chunk);
      if (frames.empty())
        continue;
      auto sent = co_await t.emit(frames);
      if (!sent) {
        give_up();
        break;
      }
      continue;
    }
    co_await t.finish(std::get<result<troupe::v1::TurnResult>>(std::move(*ev)));
    break;
  }
  x.conn().stop_watching();
}

} // namespace troupe::gateway::http
