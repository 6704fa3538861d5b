#include <catch2/catch.hpp>

#include <google/protobuf/util/message_differencer.h>
#include <thread>

#include "storage/errc.hpp"
#include "storage/migrations.hpp"
#include "storage/session_store.hpp"
#include "tests/storage/storage_test_support.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using namespace std::chrono_literals;
using troupe::v1::ChatMessage;

namespace {

struct migrated_db {
  std::string url = fresh_database();
  connection conn = open();

  connection open() const {
    auto c = connection::open(url, 2s);
    REQUIRE(c);
    return std::move(*c);
  }
  migrated_db() { REQUIRE(migrate(conn, builtin_migrations(), 2s)); }

  std::string count(const std::string& table) const {
    return scalar(url, "SELECT count(*) FROM " + table);
  }
};

ChatMessage message(const std::string& id, const std::string& role, const std::string& content) {
  ChatMessage m;
  m.set_id(id);
  m.set_role(role);
  m.set_content(content);
  return m;
}

/// A user question and the assistant's answer, ids "<turn>-q" and "<turn>-a".
std::vector<ChatMessage> turn_of(const std::string& turn, const std::string& question) {
  return {message(turn + "-q", "user", question), message(turn + "-a", "assistant", "re: " + question)};
}

std::vector<std::string> ids_of(const std::vector<ChatMessage>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs)
    out.push_back(m.id());
  return out;
}

std::vector<std::string> ids_of(const troupe::v1::SessionList& list) {
  std::vector<std::string> out;
  for (const auto& s : list.sessions())
    out.push_back(s.id());
  return out;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

} // namespace

TEST_CASE("a created session is found by its id and by its external key",
          "[storage][integration]") {
  migrated_db db;
  auto s = create_session(db.conn, "s1", "t1", "u1", "client-key");
  REQUIRE(s);
  CHECK(s->id() == "s1");
  CHECK(s->tenant() == "t1");
  CHECK(s->user() == "u1");
  CHECK(s->title().empty());
  CHECK(s->message_count() == 0);
  CHECK(s->created_unix_ms() > 0);

  auto found = find_session(db.conn, "s1");
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->tenant() == "t1");
  CHECK((*found)->user() == "u1");

  auto by_key = find_by_external_key(db.conn, "t1", "u1", "client-key");
  REQUIRE(by_key);
  REQUIRE(by_key->has_value());
  CHECK((*by_key)->id() == "s1");

  auto missing = find_session(db.conn, "nope");
  REQUIRE(missing);
  CHECK_FALSE(missing->has_value());

  SECTION("an id or a live external key is never handed out twice") {
    CHECK(is(create_session(db.conn, "s1", "t1", "u1").error(), errc::query_failed));
    CHECK(is(create_session(db.conn, "s2", "t1", "u1", "client-key").error(), errc::query_failed));
    auto other_user = create_session(db.conn, "s3", "t1", "u2", "client-key");
    CHECK(other_user);
  }
  SECTION("find_or_create_session returns the key's session, or makes one") {
    auto same = find_or_create_session(db.conn, "s9", "t1", "u1", "client-key");
    REQUIRE(same);
    CHECK(same->id() == "s1");
    auto fresh = find_or_create_session(db.conn, "s9", "t1", "u1", "other-key");
    REQUIRE(fresh);
    CHECK(fresh->id() == "s9");
    auto keyless = find_or_create_session(db.conn, "s10", "t1", "u1", "");
    REQUIRE(keyless);
    CHECK(keyless->id() == "s10");
  }
}

TEST_CASE("committed turns load back in order, and a limit keeps the latest messages",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  auto first = turn_of("turn1", "hello");
  first[0].set_created_unix_ms(1'700'000'000'123);
  auto r1 = commit_turn(db.conn, "s1", "turn1", first, "model-a");
  REQUIRE(r1);
  CHECK_FALSE(r1->already_committed);
  CHECK(r1->session.message_count() == 2);
  CHECK(r1->session.model() == "model-a");

  auto second = turn_of("turn2", "again");
  second.insert(second.begin() + 1, message("turn2-s", "system", "note"));
  auto r2 = commit_turn(db.conn, "s1", "turn2", second, "");
  REQUIRE(r2);
  CHECK(r2->session.message_count() == 5);
  CHECK(r2->session.model() == "model-a"); // an empty model keeps the last one
  CHECK(r2->session.updated_unix_ms() >= r1->session.updated_unix_ms());

  auto all = load_messages(db.conn, "s1", 0);
  REQUIRE(all);
  CHECK(ids_of(*all)
        == std::vector<std::string>{"turn1-q", "turn1-a", "turn2-q", "turn2-s", "turn2-a"});
  CHECK((*all)[0].created_unix_ms() == 1'700'000'000'123);
  CHECK((*all)[1].created_unix_ms() > 1'700'000'000'123); // 0 meant "now"
  CHECK((*all)[0].turn_id() == "turn1");
  CHECK((*all)[4].turn_id() == "turn2");
  CHECK((*all)[4].content() == "re: again");
  CHECK(scalar(db.url, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM troupe_messages")
        == "0,1,2,3,4");

  auto last = load_messages(db.conn, "s1", 2);
  REQUIRE(last);
  CHECK(ids_of(*last) == std::vector<std::string>{"turn2-s", "turn2-a"});
  auto more = load_messages(db.conn, "s1", 100);
  REQUIRE(more);
  CHECK(more->size() == 5);
  auto none = load_messages(db.conn, "unknown", 0);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("committing the same turn again writes nothing and says so", "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  REQUIRE(commit_turn(db.conn, "s1", "turn1", turn_of("turn1", "hi"), "m1"));
  auto updated = scalar(db.url, "SELECT updated_at FROM troupe_sessions");

  auto replay = commit_turn(db.conn, "s1", "turn1", turn_of("turn1", "hi"), "m1");
  REQUIRE(replay);
  CHECK(replay->already_committed);
  CHECK(replay->session.message_count() == 2);
  // Even different messages under the same turn id are not appended.
  auto altered = commit_turn(db.conn, "s1", "turn1", turn_of("other", "changed"), "m2");
  REQUIRE(altered);
  CHECK(altered->already_committed);
  CHECK(altered->session.model() == "m1");

  CHECK(db.count("troupe_messages") == "2");
  CHECK(db.count("troupe_turns") == "1");
  CHECK(scalar(db.url, "SELECT updated_at FROM troupe_sessions") == updated);
}

TEST_CASE("concurrent commits from two connections keep sequence numbers gapless and unique",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  constexpr int turns_per_node = 25;
  std::vector<std::string> failures[2];
  auto node = [&](int n) {
    auto conn = db.open();
    for (int i = 0; i < turns_per_node; ++i) {
      auto turn = "n" + std::to_string(n) + "-" + std::to_string(i);
      // Both nodes also replay each other's turn ids: exactly one commit may win.
      for (const auto& t : {turn, "n" + std::to_string(1 - n) + "-" + std::to_string(i)}) {
        auto r = commit_turn(conn, "s1", t, turn_of(t, "q"), "m");
        if (!r)
          failures[n].push_back(message_of(r.error()));
      }
    }
  };
  std::thread a{node, 0};
  std::thread b{node, 1};
  a.join();
  b.join();
  CHECK(failures[0].empty());
  CHECK(failures[1].empty());

  constexpr int messages = 2 * turns_per_node * 2;
  CHECK(db.count("troupe_messages") == std::to_string(messages));
  CHECK(scalar(db.url, "SELECT count(DISTINCT seq) FROM troupe_messages")
        == std::to_string(messages));
  CHECK(scalar(db.url, "SELECT min(seq) || '-' || max(seq) FROM troupe_messages")
        == "0-" + std::to_string(messages - 1));
  CHECK(scalar(db.url, "SELECT message_count FROM troupe_sessions") == std::to_string(messages));
  // A turn's messages are never split by another turn's.
  CHECK(scalar(db.url, "SELECT count(*) FROM troupe_messages q JOIN troupe_messages a "
                       "ON a.session_id = q.session_id AND a.seq = q.seq + 1 "
                       "WHERE q.role = 'user' AND a.turn_id = q.turn_id")
        == std::to_string(messages / 2));
}

TEST_CASE("another tenant or user can neither list, find by key nor delete a session",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1", "k"));
  REQUIRE(create_session(db.conn, "s2", "t1", "u1"));
  for (auto [tenant, user] : {std::pair{"t2", "u1"}, std::pair{"t1", "u2"}}) {
    auto list = list_sessions(db.conn, tenant, user, 0, "");
    REQUIRE(list);
    CHECK(list->sessions().empty());
    auto paged = list_sessions(db.conn, tenant, user, 0, "s2"); // another user's cursor
    REQUIRE(paged);
    CHECK(paged->sessions().empty());
    auto by_key = find_by_external_key(db.conn, tenant, user, "k");
    REQUIRE(by_key);
    CHECK_FALSE(by_key->has_value());
    auto deleted = delete_session(db.conn, tenant, user, "s1");
    REQUIRE(deleted);
    CHECK_FALSE(*deleted);
  }
  auto own = list_sessions(db.conn, "t1", "u1", 0, "");
  REQUIRE(own);
  CHECK(own->sessions_size() == 2);
  auto still = find_session(db.conn, "s1");
  REQUIRE(still);
  CHECK(still->has_value());
}

TEST_CASE("a deleted session is gone: not found, its messages removed, its id not reusable",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1", "k"));
  REQUIRE(commit_turn(db.conn, "s1", "turn1", turn_of("turn1", "secret"), "m"));
  auto deleted = delete_session(db.conn, "t1", "u1", "s1");
  REQUIRE(deleted);
  CHECK(*deleted);

  auto found = find_session(db.conn, "s1");
  REQUIRE(found);
  CHECK_FALSE(found->has_value());
  auto msgs = load_messages(db.conn, "s1", 0);
  REQUIRE(msgs);
  CHECK(msgs->empty());
  CHECK(db.count("troupe_messages") == "0");
  CHECK(db.count("troupe_turns") == "0");
  CHECK(scalar(db.url, "SELECT title || model FROM troupe_sessions") == "");
  auto listed = list_sessions(db.conn, "t1", "u1", 0, "");
  REQUIRE(listed);
  CHECK(listed->sessions().empty());

  auto again = delete_session(db.conn, "t1", "u1", "s1");
  REQUIRE(again);
  CHECK_FALSE(*again);
  auto late = commit_turn(db.conn, "s1", "turn2", turn_of("turn2", "late"), "m");
  REQUIRE_FALSE(late);
  CHECK(message_of(late.error()).find("deleted") != std::string::npos);
  auto replay = commit_turn(db.conn, "s1", "turn1", turn_of("turn1", "secret"), "m");
  CHECK_FALSE(replay);
  CHECK_FALSE(create_session(db.conn, "s1", "t1", "u1"));
  CHECK(db.count("troupe_messages") == "0");

  // The client's key is free for a new conversation.
  auto fresh = find_or_create_session(db.conn, "s2", "t1", "u1", "k");
  REQUIRE(fresh);
  CHECK(fresh->id() == "s2");
}

TEST_CASE("a session's title comes from its first user message, cut on a UTF-8 boundary",
          "[storage][integration]") {
  CHECK(session_title("  hello \n\t world  ") == "hello world");
  CHECK(session_title("") == "");
  CHECK(session_title(" \n ") == "");
  CHECK(session_title(repeat("é", 70)) == repeat("é", 60));
  CHECK(session_title(repeat("😀", 61)) == repeat("😀", 60));
  CHECK(session_title(repeat("a", 59) + " 東京") == repeat("a", 59));
  CHECK(session_title(repeat("a", 58) + " 東京") == repeat("a", 58) + " 東");

  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  auto title = "Grüße aus 東京 " + repeat("😀", 60);
  std::vector<ChatMessage> msgs{message("m0", "system", "be brief"),
                                message("m1", "user", "\n  " + title),
                                message("m2", "assistant", "ok")};
  auto r = commit_turn(db.conn, "s1", "turn1", msgs, "m");
  REQUIRE(r);
  CHECK(r->session.title() == "Grüße aus 東京 " + repeat("😀", 47));
  CHECK(scalar(db.url, "SELECT char_length(title) FROM troupe_sessions") == "60");

  // A title, once set, stays.
  auto later = commit_turn(db.conn, "s1", "turn2", turn_of("turn2", "something else"), "m");
  REQUIRE(later);
  CHECK(later->session.title() == r->session.title());

  SECTION("an explicit title wins over the message, and a blank one waits for the next turn") {
    REQUIRE(create_session(db.conn, "s2", "t1", "u1"));
    auto blank = commit_turn(db.conn, "s2", "turn1", turn_of("b1", "   "), "m");
    REQUIRE(blank);
    CHECK(blank->session.title().empty());
    auto named = commit_turn(db.conn, "s2", "turn2", turn_of("b2", "question"), "m",
                             "  Named by the model ");
    REQUIRE(named);
    CHECK(named->session.title() == "Named by the model");
  }
}

TEST_CASE("sessions are listed newest first in pages that say whether more follow",
          "[storage][integration]") {
  migrated_db db;
  // Created s0..s4, then touched in the order s3, s0, s4, s1, s2 (newest last).
  for (int i = 0; i < 5; ++i)
    REQUIRE(create_session(db.conn, "s" + std::to_string(i), "t1", "u1"));
  for (auto id : {"s3", "s0", "s4", "s1", "s2"})
    REQUIRE(commit_turn(db.conn, id, "turn", turn_of(std::string{id} + "-t", "q"), "m"));
  REQUIRE(create_session(db.conn, "gone", "t1", "u1"));
  REQUIRE(*delete_session(db.conn, "t1", "u1", "gone"));

  auto p1 = list_sessions(db.conn, "t1", "u1", 2, "");
  REQUIRE(p1);
  CHECK(ids_of(*p1) == std::vector<std::string>{"s2", "s1"});
  CHECK(p1->has_more());
  auto p2 = list_sessions(db.conn, "t1", "u1", 2, "s1");
  REQUIRE(p2);
  CHECK(ids_of(*p2) == std::vector<std::string>{"s4", "s0"});
  CHECK(p2->has_more());
  auto p3 = list_sessions(db.conn, "t1", "u1", 2, "s0");
  REQUIRE(p3);
  CHECK(ids_of(*p3) == std::vector<std::string>{"s3"});
  CHECK_FALSE(p3->has_more());

  auto whole = list_sessions(db.conn, "t1", "u1", 0, "");
  REQUIRE(whole);
  CHECK(whole->sessions_size() == 5);
  CHECK_FALSE(whole->has_more());
  CHECK(whole->sessions(0).message_count() == 2);

  SECTION("a cursor that was deleted meanwhile still continues after it") {
    REQUIRE(*delete_session(db.conn, "t1", "u1", "s4"));
    auto after = list_sessions(db.conn, "t1", "u1", 5, "s4");
    REQUIRE(after);
    CHECK(ids_of(*after) == std::vector<std::string>{"s0", "s3"});
  }
  SECTION("a page is at most 200 sessions") {
    for (int i = 0; i < 200; ++i)
      REQUIRE(create_session(db.conn, "bulk" + std::to_string(i), "t1", "u1"));
    auto big = list_sessions(db.conn, "t1", "u1", 100'000, "");
    REQUIRE(big);
    CHECK(big->sessions_size() == 200);
    CHECK(big->has_more());
  }
}

TEST_CASE("an assistant message with tool calls and the tool's answer round-trip",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  auto call = message("a1", "assistant", "");
  auto* c1 = call.add_tool_calls();
  c1->set_id("call_1");
  c1->set_name("search");
  c1->set_arguments_json(R"({"q": "Zürich \"old town\""})");
  auto* c2 = call.add_tool_calls();
  c2->set_id("call_2");
  c2->set_name("calc");
  c2->set_arguments_json("{not json at all");
  call.set_created_unix_ms(1'700'000'000'001);
  auto answer = message("t1", "tool", "42 ✓");
  answer.set_tool_call_id("call_2");
  answer.set_name("calc");
  answer.set_created_unix_ms(1'700'000'000'002);
  std::vector<ChatMessage> msgs{call, answer};
  REQUIRE(commit_turn(db.conn, "s1", "turn1", msgs, "m"));

  auto loaded = load_messages(db.conn, "s1", 0);
  REQUIRE(loaded);
  REQUIRE(loaded->size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    msgs[i].set_turn_id("turn1");
    CHECK(google::protobuf::util::MessageDifferencer::Equals((*loaded)[i], msgs[i]));
  }
  CHECK(scalar(db.url, "SELECT tool_calls->1->>'name' FROM troupe_messages WHERE id = 'a1'")
        == "calc");
  CHECK(scalar(db.url, "SELECT tool_calls IS NULL FROM troupe_messages WHERE id = 't1'") == "t");
}

TEST_CASE("bad input is refused without writing anything, and huge content is kept whole",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  const std::string nul_id{"s1\0x", 4};

  SECTION("empty or NUL-bearing identifiers") {
    CHECK(is(create_session(db.conn, "", "t1", "u1").error(), errc::query_failed));
    CHECK(is(create_session(db.conn, "s2", "", "u1").error(), errc::query_failed));
    CHECK(is(create_session(db.conn, "s2", "t1", "").error(), errc::query_failed));
    CHECK(is(create_session(db.conn, nul_id, "t1", "u1").error(), errc::query_failed));
    CHECK(is(find_or_create_session(db.conn, "", "t1", "u1", "k").error(), errc::query_failed));
    CHECK(is(commit_turn(db.conn, "", "turn", turn_of("x", "q"), "m").error(), errc::query_failed));
    CHECK(is(commit_turn(db.conn, "s1", "", turn_of("x", "q"), "m").error(), errc::query_failed));
    CHECK(is(list_sessions(db.conn, "", "u1", 0, "").error(), errc::query_failed));
    CHECK(is(delete_session(db.conn, "t1", "", "s1").error(), errc::query_failed));
    auto by_nul = find_session(db.conn, nul_id); // must not find "s1"
    REQUIRE(by_nul);
    CHECK_FALSE(by_nul->has_value());
    auto by_empty = find_session(db.conn, "");
    REQUIRE(by_empty);
    CHECK_FALSE(by_empty->has_value());
    auto del = delete_session(db.conn, "t1", "u1", nul_id);
    REQUIRE(del);
    CHECK_FALSE(*del);
    auto msgs = load_messages(db.conn, "", 0);
    REQUIRE(msgs);
    CHECK(msgs->empty());
  }
  SECTION("invalid turns") {
    CHECK(is(commit_turn(db.conn, "s1", "turn", {}, "m").error(), errc::query_failed));
    CHECK(is(commit_turn(db.conn, "missing", "turn", turn_of("x", "q"), "m").error(),
             errc::query_failed));
    auto bad_role = turn_of("x", "q");
    bad_role[1].set_role("wizard");
    CHECK(is(commit_turn(db.conn, "s1", "turn", bad_role, "m").error(), errc::query_failed));
    auto no_id = turn_of("x", "q");
    no_id[1].clear_id();
    CHECK(is(commit_turn(db.conn, "s1", "turn", no_id, "m").error(), errc::query_failed));
    auto nul_content = turn_of("x", std::string("a\0b", 3));
    CHECK(is(commit_turn(db.conn, "s1", "turn", nul_content, "m").error(), errc::query_failed));
    auto bad_utf8 = turn_of("x", "\xff\xfe");
    CHECK(is(commit_turn(db.conn, "s1", "turn", bad_utf8, "m").error(), errc::query_failed));
    auto bad_call = turn_of("x", "q");
    bad_call[1].add_tool_calls()->set_arguments_json("\xc3");
    CHECK(is(commit_turn(db.conn, "s1", "turn", bad_call, "m").error(), errc::query_failed));
    // The second message reuses the first's id: the whole turn is rolled back.
    auto dup = turn_of("x", "q");
    dup[1].set_id(dup[0].id());
    CHECK(is(commit_turn(db.conn, "s1", "turn", dup, "m").error(), errc::query_failed));
    CHECK(db.count("troupe_messages") == "0");
    CHECK(db.count("troupe_turns") == "0");
    CHECK(scalar(db.url, "SELECT message_count || title FROM troupe_sessions") == "0");
    // The refused turn id is still free, and the session still works.
    REQUIRE(commit_turn(db.conn, "s1", "turn", turn_of("x", "q"), "m"));
    CHECK(db.count("troupe_messages") == "2");
  }
  SECTION("a 1 MiB message is stored and loaded byte for byte") {
    std::string big(1 << 20, 'x');
    for (size_t i = 0; i < big.size(); i += 4096)
      big.replace(i, 3, "€");
    auto msgs = turn_of("big", big);
    auto r = commit_turn(db.conn, "s1", "turn", msgs, "m");
    REQUIRE(r);
    CHECK(r->session.title() == session_title(big));
    auto loaded = load_messages(db.conn, "s1", 0);
    REQUIRE(loaded);
    REQUIRE(loaded->size() == 2);
    CHECK((*loaded)[0].content() == big);
  }
  CHECK_FALSE(db.conn.broken());
  CHECK_FALSE(db.conn.ping());
}

TEST_CASE("turns of several sessions commit in one call, each with its own outcome",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  REQUIRE(create_session(db.conn, "s2", "t1", "u1"));
  REQUIRE(create_session(db.conn, "gone", "t1", "u1"));
  auto deleted = delete_session(db.conn, "t1", "u1", "gone");
  REQUIRE((deleted && *deleted));
  REQUIRE(commit_turn(db.conn, "s2", "old", turn_of("old", "before"), "m0"));

  auto results = commit_turns(db.conn, {{"s1", "a", turn_of("a", "first"), "m1"},
                                        {"s2", "b", turn_of("b", "second"), "m2"},
                                        {"s1", "c", turn_of("c", "third"), ""},
                                        {"gone", "d", turn_of("d", "lost"), "m1"},
                                        {"nosuch", "e", turn_of("e", "nobody"), "m1"},
                                        {"s2", "old", turn_of("old", "again"), "m2"},
                                        {"s1", "f", {message("f-q", "robot", "bad role")}, "m1"}});
  REQUIRE(results.size() == 7);
  REQUIRE(results[0]);
  CHECK(results[0]->session.message_count() == 2);
  CHECK(results[0]->session.title() == "first");
  REQUIRE(results[1]);
  CHECK(results[1]->session.message_count() == 4);
  CHECK(results[1]->session.model() == "m2");
  REQUIRE(results[2]);
  CHECK(results[2]->session.message_count() == 4);
  CHECK(results[2]->session.model() == "m1");
  REQUIRE_FALSE(results[3]);
  CHECK(caf::to_string(results[3].error()).find("deleted") != std::string::npos);
  REQUIRE_FALSE(results[4]);
  CHECK(caf::to_string(results[4].error()).find("no such session") != std::string::npos);
  REQUIRE(results[5]);
  CHECK(results[5]->already_committed);
  CHECK_FALSE(results[6]);

  auto s1 = load_messages(db.conn, "s1", 0);
  REQUIRE(s1);
  CHECK(ids_of(*s1) == std::vector<std::string>{"a-q", "a-a", "c-q", "c-a"});
  CHECK(db.count("troupe_messages") == "8"); // s2: old and b, s1: a and c
}

TEST_CASE("a batch of turns of distinct sessions commits each with its session's state",
          "[storage][integration]") {
  migrated_db db;
  for (auto id : {"s1", "s2", "s3", "gone"})
    REQUIRE(create_session(db.conn, id, "t1", "u1"));
  auto deleted = delete_session(db.conn, "t1", "u1", "gone");
  REQUIRE((deleted && *deleted));
  REQUIRE(commit_turn(db.conn, "s2", "old", turn_of("old", "before"), "m0"));
  REQUIRE(commit_turn(db.conn, "s3", "done", turn_of("done", "earlier"), "m0"));

  auto results = commit_turns(db.conn, {{"s1", "a", turn_of("a", "first"), "m1"},
                                        {"gone", "d", turn_of("d", "lost"), "m1"},
                                        {"s2", "b", turn_of("b", "second"), ""},
                                        {"nosuch", "e", turn_of("e", "nobody"), "m1"},
                                        {"s3", "done", turn_of("done", "again"), "m3"}});
  REQUIRE(results.size() == 5);
  REQUIRE(results[0]);
  CHECK_FALSE(results[0]->already_committed);
  CHECK(results[0]->session.id() == "s1");
  CHECK(results[0]->session.message_count() == 2);
  CHECK(results[0]->session.title() == "first");
  CHECK(results[0]->session.model() == "m1");
  REQUIRE_FALSE(results[1]);
  CHECK(caf::to_string(results[1].error()).find("deleted") != std::string::npos);
  REQUIRE(results[2]);
  CHECK_FALSE(results[2]->already_committed);
  CHECK(results[2]->session.message_count() == 4);
  CHECK(results[2]->session.title() == "before"); // the first turn's title stays
  CHECK(results[2]->session.model() == "m0");     // an empty model keeps the session's
  REQUIRE_FALSE(results[3]);
  CHECK(caf::to_string(results[3].error()).find("no such session") != std::string::npos);
  REQUIRE(results[4]);
  CHECK(results[4]->already_committed);
  CHECK(results[4]->session.id() == "s3");
  CHECK(results[4]->session.message_count() == 2);
  CHECK(results[4]->session.model() == "m0");

  // Messages continue each session's numbering; nothing of the others is written.
  auto s2 = load_messages(db.conn, "s2", 0);
  REQUIRE(s2);
  CHECK(ids_of(*s2) == std::vector<std::string>{"old-q", "old-a", "b-q", "b-a"});
  CHECK(db.count("troupe_messages") == "8"); // s1: a; s2: old, b; s3: done
  CHECK(scalar(db.url, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM troupe_messages"
                       " WHERE session_id = 's2'")
        == "0,1,2,3");
  CHECK(db.count("troupe_turns") == "4");
}

TEST_CASE("a turn that breaks the batch in PostgreSQL fails alone, the others commit",
          "[storage][integration]") {
  migrated_db db;
  REQUIRE(create_session(db.conn, "s1", "t1", "u1"));
  REQUIRE(create_session(db.conn, "s2", "t1", "u1"));
  REQUIRE(commit_turn(db.conn, "s1", "first", turn_of("taken", "hi"), "m"));
  // Message ids are unique across sessions: reusing one is a unique violation
  // inside the batch's transaction, which rolls the whole call back.
  auto results = commit_turns(db.conn, {{"s2", "x", turn_of("x", "fine"), "m"},
                                        {"s2", "y", turn_of("taken", "clash"), "m"},
                                        {"s1", "z", turn_of("z", "also fine"), "m"}});
  REQUIRE(results.size() == 3);
  CHECK(results[0]);
  CHECK_FALSE(results[1]);
  CHECK(results[2]);
  CHECK(db.count("troupe_messages") == "6");
  CHECK(db.count("troupe_turns") == "3");
}
