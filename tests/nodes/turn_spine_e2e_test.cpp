// The turn's spine end to end, with real node processes, nats-server and
// PostgreSQL: a forger on the bus cannot put text into a live answer, a
// deleted session stays deleted, and two nodes racing to host one session
// end with exactly one host.
#include <catch2/catch.hpp>
#include <atomic>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <map>
#include <mutex>
#include <nats/nats.h>
#include <set>
#include <sstream>
#include <thread>

#include "tests/nodes/node_fixture.hpp"
#include "tests/nodes/raw_peer.hpp"
#include "tests/support/fake_openai_server.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "troupe/v1/chat.pb.h"
#include "troupe/v1/inference.pb.h"
#include "troupe/v1/turn_event.pb.h"

using namespace troupe::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::string fresh_database() {
  static int n = 0;
  return shared_pg_server().create_database("spine_e2e_" + std::to_string(++n));
}

/// The sum of a counter's series whose labels contain `labels`.
double counter(const node_process& node, const std::string& name, const std::string& labels = {}) {
  auto text = http_get(node.admin("/metrics")).body;
  std::istringstream in{text};
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || (line.size() > name.size() && line[name.size()] != '{'
                                     && line[name.size()] != ' '))
      continue;
    if (!labels.empty() && line.find(labels) == std::string::npos)
      continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::string envelope_of(const google::protobuf::Message& payload, const std::string& correlation) {
  troupe::v1::Envelope env;
  env.set_id("forged-" + correlation);
  env.set_correlation_id(correlation);
  env.set_payload_type(payload.GetDescriptor()->full_name());
  env.set_payload(payload.SerializeAsString());
  return env.SerializeAsString();
}

/// A streamed answer of `n` pieces, `gap` apart.
scripted_response slow_stream(int n, std::chrono::milliseconds gap) {
  std::vector<stream_piece> pieces;
  for (int i = 0; i < n; ++i)
    pieces.push_back({sse_data(content_chunk("slow" + std::to_string(i) + " ")), gap});
  pieces.push_back({sse_data("[DONE]"), 0ms});
  return scripted_response::sse(std::move(pieces));
}

/// A gateway node, a session node and an inference node that talk over
/// NATS — so every envelope of a turn crosses the server, where a forger sees it.
struct split_cluster {
  shared_key key;
  fake_openai_server fake;
  nats_server nats;
  std::string db = fresh_database();
  temp_dir tmp{"troupe-spine-cli"};
  std::unique_ptr<node_process> gateway, worker, inference;

  split_cluster() {
    auto master = tmp.path() + "/master.key";
    auto cli = [&](std::vector<std::string> args) {
      return run_troupe(std::move(args), tmp.path() + "/cli.log", {"FAKE_KEY=sk-fake"}).code;
    };
    REQUIRE(cli({"migrate", "--database-url", db}) == 0);
    REQUIRE(cli({"provider", "add", "fake", "--base-url", fake.base_url(), "--api-key-env",
                 "FAKE_KEY", "--master-key", master, "--database-url", db})
            == 0);
    REQUIRE(cli({"role", "set", "default", "fake/fake-model", "--database-url", db}) == 0);
    inference = std::make_unique<node_process>(node_options{
      "inf", R"(["inference"])", nats.url(), db,
      "[inference]\nmaster_key_file = \"" + master + "\"\n", "dev", key.path});
    worker = std::make_unique<node_process>(
      node_options{"wk", R"(["session"])", nats.url(), db, {}, "dev", key.path});
    gateway = std::make_unique<node_process>(
      node_options{"gw", R"(["gateway"])", nats.url(), db, {}, "dev", key.path});
    REQUIRE(inference->wait_ready());
    REQUIRE(worker->wait_ready());
    REQUIRE(gateway->wait_ready());
  }
};

} // namespace

TEST_CASE("chunks and results forged onto NATS for a live turn never reach the user and are counted",
          "[chat][security][integration]") {
  split_cluster c;
  // A first turn makes the session (the fake provider's default answer).
  auto first = post(*c.gateway, "/v1/chat", {{"message", "hello"}}, 20'000);
  INFO(first.body);
  REQUIRE(first.status == 200);
  std::string sid = json::parse(first.body)["session_id"];

  raw_peer forger{c.nats.url()};
  forger.subscribe("troupe.test.>");
  c.fake.push(slow_stream(12, 150ms));
  auto streamed = std::async(std::launch::async, [&] {
    return post(*c.gateway, "/v1/chat/stream", {{"message", "stream please"}, {"session_id", sid}},
                20'000);
  });

  // The forger watches for the live turn's requests and answers them first,
  // with no principal, with a principal that does not verify, and on the
  // session's own subject — as the old protocol let anyone do.
  bool turn_forged = false, model_forged = false;
  auto give_up = std::chrono::steady_clock::now() + 15s;
  while ((!turn_forged || !model_forged) && std::chrono::steady_clock::now() < give_up) {
    auto got = forger.next(500);
    if (!got || got->reply.empty())
      continue;
    troupe::v1::Envelope env;
    if (!env.ParseFromString(got->data))
      continue;
    if (env.payload_type() == "troupe.v1.TurnRequest" && !turn_forged) {
      troupe::v1::TurnChunk chunk;
      chunk.set_turn_id("whatever");
      chunk.set_delta("INJECTED-XYZ ");
      forger.publish(got->reply, envelope_of(chunk, env.id()));
      troupe::v1::Envelope bad_sig;
      bad_sig.ParseFromString(envelope_of(chunk, env.id()));
      bad_sig.mutable_principal()->set_principal("forged");
      bad_sig.mutable_principal()->set_key_id("k1");
      bad_sig.mutable_principal()->set_signature(std::string(32, 'x'));
      forger.publish(got->reply, bad_sig.SerializeAsString());
      troupe::v1::TurnResult result;
      result.mutable_reply()->set_content("INJECTED-RESULT");
      forger.publish(got->reply, envelope_of(result, env.id()));
      turn_forged = true;
    } else if (env.payload_type() == "troupe.v1.GenerateRequest" && !model_forged) {
      troupe::v1::GenerateChunk chunk;
      chunk.set_delta("INJECTED-XYZ ");
      forger.publish(got->reply, envelope_of(chunk, env.id()));
      // The old session subject took GenerateChunks from anyone.
      forger.publish("troupe.test.node.wk.session." + sid, envelope_of(chunk, env.id()));
      model_forged = true;
    }
  }
  REQUIRE(turn_forged);
  REQUIRE(model_forged);
  auto r = streamed.get();
  INFO(r.body << "\n" << c.gateway->log() << "\n" << c.worker->log());
  REQUIRE(r.status == 200);
  CHECK(r.body.find("INJECTED") == std::string::npos);
  for (int i = 0; i < 12; ++i)
    CHECK(r.body.find("slow" + std::to_string(i) + " ") != std::string::npos);
  // Refused where they arrived, and counted there.
  CHECK(counter(*c.gateway, "troupe_bus_rejected_total", R"(reason="principal_missing")") >= 2);
  CHECK(counter(*c.gateway, "troupe_bus_rejected_total", R"(reason="principal_invalid")") >= 1);
  CHECK(counter(*c.worker, "troupe_bus_rejected_total", R"(reason="principal_missing")") >= 1);
  INFO(c.inference->log());
  CHECK(counter(*c.worker, "troupe_bus_rejected_total", R"(reason="unknown_type")") >= 1);
  // The stored answer is the model's, untouched.
  auto msgs = json::parse(http_get(c.gateway->gateway("/v1/sessions/" + sid + "/messages")).body);
  REQUIRE(msgs["messages"].size() == 4);
  CHECK(msgs["messages"][3]["content"].get<std::string>().find("INJECTED") == std::string::npos);
}

TEST_CASE("a deleted session stops, forgets its history, and a later turn on its id is "
          "session_not_found before any model is called",
          "[chat][integration]") {
  split_cluster c;
  auto first = post(*c.gateway, "/v1/chat", {{"message", "remember this"}}, 20'000);
  INFO(first.body);
  REQUIRE(first.status == 200);
  std::string sid = json::parse(first.body)["session_id"];
  auto calls = c.fake.requests().size();

  auto del = http_send({"DELETE", c.gateway->gateway("/v1/sessions/" + sid), {}, {}, 10'000});
  INFO(del.body);
  REQUIRE(del.status == 200);
  // The gateway still remembers where the session lived: the turn goes
  // straight there, and must still be refused.
  for (const char* path : {"/v1/chat", "/v1/chat/stream"}) {
    auto again = post(*c.gateway, path, {{"message", "and now?"}, {"session_id", sid}}, 20'000);
    INFO(path << ": " << again.body);
    CHECK(again.status == 404);
    CHECK(again.body.find("session_not_found") != std::string::npos);
  }
  CHECK(c.fake.requests().size() == calls);
  CHECK(http_get(c.gateway->gateway("/v1/sessions/" + sid)).status == 404);
}

TEST_CASE("two nodes racing to take over the sessions of a dead node end with exactly one host "
          "each, and every turn answered",
          "[chat][integration]") {
  shared_key key;
  nats_server nats;
  auto db = fresh_database();
  // The sessions are made on a node that then dies: their directory entries
  // name it, so the next turns make the survivors claim them, both at once.
  auto doomed = std::make_unique<node_process>(
    node_options{"race-c", {}, nats.url(), db, {}, "dev", key.path});
  REQUIRE(doomed->wait_ready());
  constexpr int sessions = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < sessions; ++i) {
    auto r = post(*doomed, "/v1/chat", {{"message", "hi"}}, 20'000);
    REQUIRE(r.status == 200);
    ids.push_back(json::parse(r.body)["session_id"]);
  }
  node_process a{{"race-a", {}, nats.url(), db, {}, "dev", key.path}};
  node_process b{{"race-b", {}, nats.url(), db, {}, "dev", key.path}};
  REQUIRE(a.wait_ready());
  REQUIRE(b.wait_ready());
  doomed->process().signal(SIGKILL);
  doomed.reset();

  std::vector<std::future<http_response>> turns;
  for (const auto& id : ids)
    for (auto* n : {&a, &b})
      turns.push_back(std::async(std::launch::async, [n, id] {
        return post(*n, "/v1/chat", {{"message", "race"}, {"session_id", id}}, 20'000);
      }));
  std::set<std::string> answers;
  for (auto& t : turns) {
    auto r = t.get();
    INFO(r.body);
    REQUIRE(r.status == 200);
    answers.insert(json::parse(r.body)["message"]["content"].get<std::string>());
  }
  // Each session ran its two turns one after the other, on one actor: turn 2
  // and turn 3 of every session, never two turn 2s.
  CHECK(answers.size() == 2);
  CHECK(answers.count("troupe-dev heard: race (turn 2)") == 1);
  CHECK(answers.count("troupe-dev heard: race (turn 3)") == 1);
  auto hosted = counter(a, "troupe_session_activations_total", R"(outcome="hosted")")
                + counter(b, "troupe_session_activations_total", R"(outcome="hosted")");
  auto live = counter(a, "troupe_sessions_active") + counter(b, "troupe_sessions_active");
  CHECK(live == sessions);
  CHECK(hosted == sessions);
}

namespace {

/// Every turn event in the stream, per turn in stream order, read with a
/// plain JetStream consumer (nats.c, ordered, from the first message).
std::map<std::string, std::vector<uint32_t>> stored_event_seqs(const std::string& url) {
  natsConnection* nc = nullptr;
  REQUIRE(natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK);
  jsCtx* js = nullptr;
  REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverAll;
  natsSubscription* sub = nullptr;
  jsErrCode jerr{};
  REQUIRE(js_SubscribeSync(&sub, js, "troupe.test.events.>", nullptr, &so, &jerr) == NATS_OK);
  std::map<std::string, std::vector<uint32_t>> out;
  for (natsMsg* m = nullptr; natsSubscription_NextMsg(&m, sub, 3000) == NATS_OK; m = nullptr) {
    troupe::v1::Envelope env;
    troupe::v1::TurnEvent ev;
    if (env.ParseFromArray(natsMsg_GetData(m), natsMsg_GetDataLength(m))
        && ev.ParseFromString(env.payload()))
      out[ev.turn_id()].push_back(ev.seq());
    natsMsg_Destroy(m);
  }
  natsSubscription_Destroy(sub);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return out;
}

} // namespace

TEST_CASE("every turn answered as a success while nats-server was killed and restarted has all its "
          "events in the stream, in order, exactly once",
          "[chat][events][integration]") {
  nats_server nats;
  node_process node{{"evlog", {}, nats.url(), fresh_database()}};
  REQUIRE(node.wait_ready());
  std::mutex m;
  std::vector<std::string> answered; // turn ids of 200s
  size_t failed = 0;
  std::atomic<bool> stop{false};
  // Joined however the test ends: a failed REQUIRE must not leave them running.
  struct joined : std::vector<std::thread> {
    std::atomic<bool>& stop;
    explicit joined(std::atomic<bool>& s) : stop(s) {}
    ~joined() {
      stop = true;
      for (auto& t : *this)
        if (t.joinable())
          t.join();
    }
  } clients{stop};
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([&] {
      std::string sid;
      while (!stop) {
        json body{{"message", "load"}};
        if (!sid.empty())
          body["session_id"] = sid;
        auto r = post(node, "/v1/chat", body, 60'000);
        std::lock_guard lk{m};
        if (r.status != 200) {
          ++failed;
          continue;
        }
        auto j = json::parse(r.body);
        sid = j["session_id"];
        answered.push_back(j["turn_id"]);
      }
    });
  auto count = [&] {
    std::lock_guard lk{m};
    return answered.size();
  };
  REQUIRE(wait_until(30s, [&] { return count() >= 20; }));
  nats.stop();
  // The outage itself: turns keep arriving while JetStream is gone.
  std::this_thread::sleep_for(1500ms);
  nats.start();
  auto after_restart = count();
  bool resumed = wait_until(60s, [&] { return count() >= after_restart + 20; });
  INFO(node.log());
  CHECK(resumed);
  stop = true;
  for (auto& t : clients)
    t.join();

  auto stored = stored_event_seqs(nats.url());
  std::lock_guard lk{m};
  INFO(answered.size() << " answered, " << failed << " failed\n" << node.log());
  const std::vector<uint32_t> all{0, 1, 2, 3, 4};
  size_t complete = 0;
  for (const auto& turn : answered) {
    INFO("turn " << turn);
    CHECK(stored[turn] == all);
    complete += stored[turn] == all;
  }
  CHECK(complete == answered.size());
}
