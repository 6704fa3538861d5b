// The session actor itself — the shell around turn_queue — on the fake
// transport, with a model that answers at once, a store and an event log
// that fail when told to: what a client hears when the commit or the
// events fail, and what reaches the store and the log.
#include <catch2/catch.hpp>

#include "actors/session/errc.hpp"
#include "actors/session/session_actor.hpp"
#include "actors/session/session_env.hpp"
#include "bus/dispatch.hpp"
#include "bus/fake_transport.hpp"
#include "storage/errc.hpp"
#include "tests/bus/bridge_fixture.hpp"
#include "tests/session/session_fakes.hpp"
#include "troupe/v1/turn_event.pb.h"

using namespace troupe;
using namespace troupe::test;

namespace {

using model_actor = caf::typed_actor<caf::reacts_to<bus::in<troupe::v1::GenerateRequest>>>;

/// How many messages each generation carried.
struct model_log {
  std::mutex mtx;
  std::vector<int> sizes;
};

/// Answers every generation with "echo: <the last message>".
model_actor::behavior_type echo_model(model_actor::pointer, std::shared_ptr<model_log> log) {
  return {
      [log](const bus::in<troupe::v1::GenerateRequest>& in) {
        {
          std::lock_guard guard{log->mtx};
          log->sizes.push_back(in.msg().messages_size());
        }
        troupe::v1::GenerateResult r;
        r.mutable_message()->set_role("assistant");
        const auto& msgs = in.msg().messages();
        r.mutable_message()->set_content(
            "echo: " + (msgs.empty() ? std::string{} : msgs.rbegin()->content()));
        r.set_model("echo-1");
        r.set_finish_reason("stop");
        CHECK_FALSE(in.reply().send(bus::make_reply(in.env(), r)));
      },
  };
}

/// A host that takes the session's idle notices and does nothing with them.
caf::behavior quiet_host(caf::event_based_actor* self) {
  self->set_default_handler(caf::drop);
  return {[](const std::string&) {}};
}

struct session_fixture : bridge_fixture {
  std::shared_ptr<fake_session_store> store = std::make_shared<fake_session_store>();
  std::shared_ptr<memory_event_log> events = std::make_shared<memory_event_log>();
  std::shared_ptr<model_log> model_calls = std::make_shared<model_log>();
  bus::subjects subjects{"test"};
  std::string session_subject = "troupe.test.node.n1.session.s1";

  /// `history`: what the session loaded when it was activated.
  explicit session_fixture(std::vector<troupe::v1::ChatMessage> history = {})
      : bridge_fixture(std::make_shared<bus::fake_transport>()) {
    auto model = sys.spawn(echo_model, model_calls);
    spawned.push_back(caf::actor_cast<caf::actor>(model));
    serve_typed(*subjects.svc("inference"), "inference",
                bus::dispatch::to<troupe::v1::GenerateRequest>(model));

    auto env = std::make_shared<session::session_env>();
    env->node_id = "n1";
    env->subjects = subjects;
    env->transport = transport;
    env->one_way = transport;
    env->keys = keys;
    env->turn_store = store;
    env->events = events;
    troupe::v1::SessionInfo info;
    info.set_id("s1");
    info.set_tenant("acme");
    info.set_user("alice");
    auto host = sys.spawn(quiet_host);
    spawned.push_back(host);
    auto s = session::spawn_session(sys, env, {info, std::move(history), host});
    spawned.push_back(caf::actor_cast<caf::actor>(s));
    serve_typed(session_subject, "",
                bus::dispatch::to<troupe::v1::TurnRequest, troupe::v1::CancelTurn>(s));
  }

  template <class Dispatch>
  void serve_typed(const std::string& subject, const std::string& queue, Dispatch d) {
    bool ok = false;
    self->request(bridge, 5s, serve_atom::value, subject, queue, std::move(d), false)
        .receive([&](bool b) { ok = b; }, [](caf::error&) {});
    REQUIRE(ok);
  }

  /// `msg` in an envelope with acme/`user`'s signed principal.
  troupe::v1::Envelope signed_by(const std::string& user, const google::protobuf::Message& msg) {
    return signed_as(bus::make_envelope(msg), "acme", user);
  }

  /// A turn as alice sends it, signed.
  caf::expected<troupe::v1::TurnResult> turn(const std::string& turn_id, const std::string& text) {
    troupe::v1::TurnRequest req;
    req.set_session_id("s1");
    req.set_turn_id(turn_id);
    req.set_message(text);
    auto reply = request(session_subject, signed_by("alice", req), caf::timespan{5s});
    if (!reply)
      return reply.error();
    return bus::payload_as<troupe::v1::TurnResult>(*reply);
  }

  size_t model_call_count() {
    std::lock_guard guard{model_calls->mtx};
    return model_calls->sizes.size();
  }

  /// The event types stored for `turn_id`, in order (the subject's last token).
  std::vector<std::string> event_types(const std::string& turn_id) {
    std::vector<std::string> out;
    for (const auto& e : events->events())
      if (e.group == turn_id)
        out.push_back(e.subject.substr(e.subject.rfind('.') + 1));
    return out;
  }
};

} // namespace

TEST_CASE("a committed turn is answered with the model's reply after its events are stored",
          "[session][unit]") {
  session_fixture f;
  auto r = f.turn("t1", "hello");
  REQUIRE(r);
  CHECK(r->reply().content() == "echo: hello");
  auto commits = f.store->commits();
  REQUIRE(commits.size() == 1);
  CHECK(commits[0].turn_id == "t1");
  REQUIRE(commits[0].msgs.size() == 2);
  CHECK(commits[0].msgs[0].role() == "user");
  CHECK(commits[0].msgs[1].content() == "echo: hello");
  CHECK(f.event_types("t1")
        == std::vector<std::string>{"turn_started", "model_invoked", "model_response",
                                    "turn_persisted", "turn_completed"});
}

TEST_CASE("a commit the store refuses fails the turn with persist_failed, and the history "
          "keeps only what was stored",
          "[session][unit]") {
  session_fixture f;
  f.store->fail_with(storage::make_error(storage::errc::query_failed, "disk full"));
  auto r = f.turn("t1", "lost");
  REQUIRE_FALSE(r);
  CHECK(session::is(r.error(), session::errc::persist_failed));
  CHECK(f.store->commits().empty());
  auto types = f.event_types("t1");
  REQUIRE_FALSE(types.empty());
  CHECK(types.back() == "turn_failed");
  CHECK(std::count(types.begin(), types.end(), "turn_completed") == 0);

  // The next turn works, and the failed turn's message is not in what the
  // model is sent: the history holds committed turns only.
  f.store->succeed();
  auto next = f.turn("t2", "again");
  REQUIRE(next);
  auto commits = f.store->commits();
  REQUIRE(commits.size() == 1);
  CHECK(commits[0].turn_id == "t2");
  std::lock_guard guard{f.model_calls->mtx};
  CHECK(f.model_calls->sizes == std::vector<int>{1, 1});
}

TEST_CASE("events the log cannot store fail the turn with events_unavailable, never a success",
          "[session][unit]") {
  session_fixture f;
  f.events->fail_with(bus::make_error(bus::errc::timeout, "no acknowledgement"));
  auto r = f.turn("t1", "unrecorded");
  REQUIRE_FALSE(r);
  CHECK(session::is(r.error(), session::errc::events_unavailable));
}

TEST_CASE("a turn from someone other than the session's owner is refused as not found",
          "[session][unit]") {
  session_fixture f;
  troupe::v1::TurnRequest req;
  req.set_session_id("s1");
  req.set_message("let me in");
  auto reply = f.request(f.session_subject, f.signed_by("mallory", req), caf::timespan{5s});
  REQUIRE_FALSE(reply);
  CHECK(session::is(reply.error(), session::errc::session_not_found));
  CHECK(f.store->commits().empty());
  CHECK(f.events->events().empty());
}

TEST_CASE("a turn sent again under its id is answered from its commit, not run again",
          "[session][unit]") {
  session_fixture f;
  auto first = f.turn("t1", "hello");
  REQUIRE(first);
  CHECK_FALSE(first->replayed());
  auto again = f.turn("t1", "hello");
  REQUIRE(again);
  CHECK(again->replayed());
  CHECK(again->reply().id() == first->reply().id());
  CHECK(again->reply().content() == "echo: hello");
  CHECK(again->model() == first->model());
  CHECK(again->messages_size() == 2);
  CHECK(f.store->commits().size() == 1);
  CHECK(f.model_call_count() == 1);
  CHECK(f.event_types("t1").size() == 5); // the replay adds no events

  // The same id with another question is refused, not answered with the old reply.
  auto reused = f.turn("t1", "something else");
  REQUIRE_FALSE(reused);
  CHECK(session::is(reused.error(), session::errc::turn_id_reused));
  CHECK(f.model_call_count() == 1);
}

TEST_CASE("a session activated from its history answers its last turn again without the model",
          "[session][unit]") {
  auto message = [](std::string id, std::string role, std::string content, std::string turn) {
    troupe::v1::ChatMessage m;
    m.set_id(std::move(id));
    m.set_role(std::move(role));
    m.set_content(std::move(content));
    m.set_turn_id(std::move(turn));
    return m;
  };
  session_fixture f{{message("m1", "user", "before", "t0"),
                     message("m2", "assistant", "stored answer", "t0")}};
  auto r = f.turn("t0", "before");
  REQUIRE(r);
  CHECK(r->replayed());
  CHECK(r->reply().id() == "m2");
  CHECK(r->reply().content() == "stored answer");
  CHECK(r->finish_reason() == "stop");
  CHECK(f.store->commits().empty());
  CHECK(f.model_call_count() == 0);

  // A new turn still runs, with the stored history in front of it.
  auto next = f.turn("t1", "after");
  REQUIRE(next);
  CHECK_FALSE(next->replayed());
  std::lock_guard guard{f.model_calls->mtx};
  CHECK(f.model_calls->sizes == std::vector<int>{3});
}
