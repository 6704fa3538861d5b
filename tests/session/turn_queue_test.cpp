// The session's turn queue driven directly: order, bound, expiry, cancel.
#include "tests/session/turn_test_support.hpp"

using namespace troupe;
using namespace troupe::session;
using namespace troupe::session::test;

namespace {

turn_queue make_queue(size_t max_queued = 4) {
  return turn_queue{pipeline{}, counting_context(), max_queued, [] { return uint32_t{7}; }};
}

/// Finishes the running turn `id` of `q` with an answer; the queue's output.
turn_queue::out complete(turn_queue& q, const std::string& id) {
  auto tid = turn_id{id};
  auto out = q.to_current(tid, t0, [](turn_machine& m) { return m.model_answered(answer_text("ok")); });
  auto await = only<fx::await_events>(of(out, id));
  (void)q.to_current(tid, t0, [](turn_machine& m) { return m.committed(std::nullopt); });
  out = q.to_current(tid, t0, [&](turn_machine& m) { return m.events_acked(await.through_seq, std::nullopt); });
  auto sealed = only<fx::await_events>(of(out, id));
  return q.to_current(tid, t0, [&](turn_machine& m) { return m.events_acked(sealed.through_seq, std::nullopt); });
}

} // namespace

TEST_CASE("turns of a session run one at a time in arrival order", "[session][queue]") {
  auto q = make_queue();
  auto out = q.arrive(start_of("a"), t0);
  CHECK(has<fx::call_model>(of(out, "a")));
  out = q.arrive(start_of("b"), t0);
  CHECK(out.empty()); // waits
  out = q.arrive(start_of("c"), t0);
  CHECK(out.empty());
  CHECK(q.queued() == 2);

  out = complete(q, "a");
  CHECK(has<fx::answer>(of(out, "a")));
  // b starts in the same step, c still waits.
  CHECK(has<fx::call_model>(of(out, "b")));
  CHECK(of(out, "c").empty());
  REQUIRE(q.current());
  CHECK(q.current()->id() == turn_id{"b"});
  // The history length is asked when a turn starts.
  const auto& started = all<fx::event>(of(out, "b"))[1];
  CHECK(static_cast<const troupe::v1::ModelInvoked&>(*started.payload).history_messages() == 7);

  out = complete(q, "b");
  CHECK(has<fx::call_model>(of(out, "c")));
  out = complete(q, "c");
  CHECK(has<fx::answer>(of(out, "c")));
  CHECK(q.idle());
}

TEST_CASE("a full queue refuses a turn with session_busy and no events", "[session][queue]") {
  auto q = make_queue(2);
  (void)q.arrive(start_of("a"), t0);
  (void)q.arrive(start_of("b"), t0);
  (void)q.arrive(start_of("c"), t0);
  auto out = q.arrive(start_of("d"), t0);
  auto fx = of(out, "d");
  CHECK(failure_code(fx) == "session_busy");
  CHECK(events(fx).empty());
  CHECK(q.queued() == 2);
}

TEST_CASE("a queued turn whose deadline passes fails where it waits", "[session][queue]") {
  auto q = make_queue();
  (void)q.arrive(start_of("a", "x", true, t0 + 60s), t0);
  (void)q.arrive(start_of("b", "x", true, t0 + 5s), t0);
  (void)q.arrive(start_of("c", "x", true, t0 + 60s), t0);
  CHECK(q.next_deadline() == t0 + 5s);
  CHECK(q.tick(t0 + 4s).empty());
  auto out = q.tick(t0 + 5s);
  auto fx = of(out, "b");
  CHECK(events(fx) == std::vector{Type::TURN_STARTED, Type::TURN_FAILED});
  CHECK(failure_code(fx) == "deadline_expired");
  CHECK(of(out, "a").empty()); // the running turn goes on
  CHECK(q.queued() == 1);
  CHECK(q.next_deadline() == t0 + 60s);
}

TEST_CASE("a long run of expired queued turns ends in one pass", "[session][queue]") {
  auto q = make_queue(5000);
  (void)q.arrive(start_of("a", "x", true, t0 + 60s), t0);
  for (int i = 0; i < 5000; ++i)
    (void)q.arrive(start_of("q" + std::to_string(i), "x", true, t0 + 1s), t0);
  // The running turn ends after every queued one expired: starting the queue
  // finds them all expired, one after the other.
  auto out = q.to_current(turn_id{"a"}, t0 + 2s, [](turn_machine& m) { return m.cancel(); });
  size_t failed = 0;
  for (const auto& t : out)
    if (std::holds_alternative<fx::fail>(t.what))
      ++failed;
  CHECK(failed == 5001);
  CHECK(q.idle());
}

TEST_CASE("a cancelled queued turn never starts", "[session][queue]") {
  auto q = make_queue();
  (void)q.arrive(start_of("a"), t0);
  (void)q.arrive(start_of("b"), t0);
  auto out = q.cancel(turn_id{"b"}, t0);
  auto fx = of(out, "b");
  CHECK(failure_code(fx) == "cancelled");
  CHECK(events(fx).empty());
  out = complete(q, "a");
  CHECK(of(out, "b").empty());
  CHECK(q.idle());
}

TEST_CASE("cancelling the running turn starts the next", "[session][queue]") {
  auto q = make_queue();
  (void)q.arrive(start_of("a"), t0);
  (void)q.arrive(start_of("b"), t0);
  auto out = q.cancel(turn_id{"a"}, t0);
  CHECK(failure_code(of(out, "a")) == "cancelled");
  CHECK(has<fx::stop>(of(out, "a")));
  CHECK(has<fx::call_model>(of(out, "b")));
}

TEST_CASE("a cancel that overtakes its turn refuses the turn when it comes",
          "[session][queue]") {
  auto q = make_queue();
  CHECK(q.cancel(turn_id{"early"}, t0).empty());
  auto out = q.arrive(start_of("early"), t0);
  CHECK(failure_code(of(out, "early")) == "cancelled");
  CHECK(q.idle());
  // Remembered once only.
  out = q.arrive(start_of("early"), t0);
  CHECK(has<fx::call_model>(of(out, "early")));
}

TEST_CASE("inputs for a turn that is not running are dropped", "[session][queue]") {
  auto q = make_queue();
  (void)q.arrive(start_of("a"), t0);
  (void)q.arrive(start_of("b"), t0);
  auto out = q.to_current(turn_id{"b"}, t0,
                          [](turn_machine& m) { return m.model_answered(answer_text("x")); });
  CHECK(out.empty());
  CHECK(q.current()->id() == turn_id{"a"});
}

TEST_CASE("abort_all fails the running and the queued turns", "[session][queue]") {
  auto q = make_queue();
  (void)q.arrive(start_of("a"), t0);
  (void)q.arrive(start_of("b"), t0);
  auto out = q.abort_all(error("session", "session_not_found"));
  CHECK(failure_code(of(out, "a")) == "session_not_found");
  CHECK(events(of(out, "a")).back() == Type::TURN_FAILED);
  CHECK(failure_code(of(out, "b")) == "session_not_found");
  CHECK(q.idle());
}
