// bench/gateway_http: the gateway's HTTP front against a minimal Beast server
// built the same way (same I/O threads, keep-alive), same run, same client.
// The gateway answers routes that go no further than itself: GET /v1/models
// (authentication by the dev authenticator, rate-limit check, routing, JSON,
// metrics) and POST /v1/chat against an in-process backend that answers at
// once (adds body parsing and the turn's cross-thread hand-off).
// Then full turns through a real node (every role, the troupe-dev model, its
// own nats-server and PostgreSQL): each client on a session of its own, and
// each request on a new session. Then streams (bench/gateway_stream.hpp):
// OpenAI chat-completion streams through the node from a fake provider and
// straight from it, Troupe's added latency in raw nats.c round trips.
//
//   gateway_http [--seconds S] [--connections 1,16,64] [--server-threads N]
//                [--client-threads N] [--no-full-turn] [--no-stream]
//                [--stream-tokens N] [--stream-gap-ms MS] [--streams K]
//                [--stream-clients 1,16]
// Prints requests/s, p50 and p99 per point and connection count, and each
// point's ratio to the baseline; time to first token and inter-token gaps.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <unistd.h>

#include "actors/gateway/http/gateway_server.hpp"
#include "actors/gateway/identity/dev_authenticator.hpp"
#include "bench/beast_baseline.hpp"
#include "bench/gateway_stream.hpp"
#include "bench/http_load.hpp"
#include "bench/raw_nats.hpp"
#include "bench/sse_provider.hpp"
#include "common/logging.hpp"
#include "tests/nodes/node_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"

namespace {

using namespace troupe;

/// Answers models and turns at once, on the caller's thread.
class instant_backend final : public gateway::chat_backend {
public:
  gateway::cancel_fn chat(gateway::turn_input in, std::function<void(const v1::TurnChunk&)>,
                          gateway::callback<v1::TurnResult> done) override {
    v1::TurnResult r;
    r.set_session_id(in.session_id.empty() ? "s1" : in.session_id);
    r.set_turn_id("t1");
    r.mutable_reply()->set_role("assistant");
    r.mutable_reply()->set_content("pong");
    r.set_model("bench-model");
    r.set_finish_reason("stop");
    done(std::move(r));
    return [] {};
  }
  void list_sessions(const v1::Principal&, v1::ListSessions,
                     gateway::callback<v1::SessionList> done) override {
    done(v1::SessionList{});
  }
  void get_session(const v1::Principal&, std::string,
                   gateway::callback<v1::SessionInfo> done) override {
    done(gateway::api_error{404, "session_not_found", "bench"});
  }
  void get_messages(const v1::Principal&, v1::GetMessages,
                    gateway::callback<v1::MessageList> done) override {
    done(v1::MessageList{});
  }
  void delete_session(const v1::Principal&, std::string,
                      gateway::callback<v1::SessionDeleted> done) override {
    done(v1::SessionDeleted{});
  }
  void list_models(const v1::Principal&, gateway::callback<v1::ModelList> done) override {
    v1::ModelList list;
    for (const auto* id : {"openai/gpt-4o-mini", "default"}) {
      auto* m = list.add_models();
      m->set_id(id);
      m->set_owned_by("troupe");
      m->set_created_unix(1715367049);
    }
    done(std::move(list));
  }
};

struct point {
  std::string name;
  uint16_t port;
  std::vector<std::string> requests; // connection i sends requests[i % size]
  bool baseline = false;
};

std::string get_request(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer bench\r\n\r\n";
}

std::string post_request(const std::string& path, const std::string& body) {
  return "POST " + path
         + " HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer bench\r\n"
           "Content-Type: application/json\r\nContent-Length: "
         + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// `count` sessions opened on the node, as one POST /v1/chat each on its own.
std::optional<std::vector<std::string>> open_sessions(const test::node_process& node, size_t count) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < count; ++i) {
    test::http_request req;
    req.method = "POST";
    req.url = node.gateway("/v1/chat");
    req.headers = {"Authorization: Bearer bench", "Content-Type: application/json"};
    req.body = R"({"message":"hello"})";
    auto res = test::http_send(req);
    auto body = nlohmann::json::parse(res.body, nullptr, false);
    if (res.status != 200 || !body.is_object() || !body["session_id"].is_string()) {
      std::fprintf(stderr, "opening a session: %ld %s\n", res.status, res.body.c_str());
      return std::nullopt;
    }
    ids.push_back(body["session_id"]);
  }
  return ids;
}

std::vector<std::string> chat_requests(const std::vector<std::string>& session_ids) {
  std::vector<std::string> requests;
  for (const auto& id : session_ids)
    requests.push_back(
        post_request("/v1/chat", nlohmann::json{{"message", "ping"}, {"session_id", id}}.dump()));
  return requests;
}

std::vector<size_t> parse_counts(const std::string& list) {
  std::vector<size_t> out;
  std::stringstream in{list};
  for (std::string item; std::getline(in, item, ',');)
    out.push_back(std::stoul(item));
  return out;
}

std::string self_exe() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return std::string(buf, n > 0 ? n : 0);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Gateway HTTP front against a minimal Beast server"};
  double seconds = 3;
  std::string connections = "1,16,64";
  size_t server_threads = 2;
  size_t client_threads = 1;
  bool full_turn = true;
  bool stream = true;
  bench::stream_config streaming;
  std::string stream_clients = "1";
  std::string raw_echo_url;
  app.add_flag("!--no-full-turn", full_turn,
               "Skip the full turn (a real node with nats-server and PostgreSQL)");
  app.add_flag("!--no-stream", stream, "Skip the streaming run (a real node and a fake provider)");
  app.add_option("--stream-tokens", streaming.tokens, "Tokens per stream");
  app.add_option("--stream-gap-ms", streaming.gap_ms, "The provider's gap between tokens (ms)");
  app.add_option("--streams", streaming.streams, "Measured streams per client, one after the other");
  app.add_option("--stream-clients", stream_clients, "Streaming clients, comma-separated");
  app.add_option("--raw-echo", raw_echo_url, "Internal: serve the raw nats.c echo at this URL")
      ->group("");
  app.add_option("--seconds", seconds, "Measured seconds per point and connection count");
  app.add_option("--connections", connections, "Keep-alive client connections, comma-separated");
  app.add_option("--server-threads", server_threads, "I/O threads of each server");
  app.add_option("--client-threads", client_threads, "Client I/O threads");
  CLI11_PARSE(app, argc, argv);
  if (!raw_echo_url.empty())
    return bench::run_raw_echo(raw_echo_url);
  streaming.clients = parse_counts(stream_clients);
  log::configure("error", log::format::text); // the dev authenticator's warning is expected

  auto auth = gateway::identity::make_dev_authenticator({});
  if (!auth) {
    std::fprintf(stderr, "dev authenticator: %s\n", caf::to_string(auth.error()).c_str());
    return 1;
  }
  gateway::http::server_options opts;
  opts.port = 0;
  opts.io_threads = server_threads;
  auto registry = std::make_shared<prometheus::Registry>();
  auto gw = gateway::http::gateway_server::start(opts, *auth, std::make_shared<instant_backend>(),
                                                 registry.get());
  if (!gw) {
    std::fprintf(stderr, "gateway: %s\n", caf::to_string(gw.error()).c_str());
    return 1;
  }
  auto gw_port = (*gw)->port();
  // The baseline answers the very bytes the gateway answers for /v1/models.
  test::http_request probe;
  probe.url = "http://127.0.0.1:" + std::to_string(gw_port) + "/v1/models";
  probe.headers = {"Authorization: Bearer bench"};
  auto models = test::http_send(probe);
  if (models.status != 200) {
    std::fprintf(stderr, "gateway /v1/models answered %ld\n", models.status);
    return 1;
  }
  bench::beast_baseline baseline{server_threads, models.body};

  std::vector<point> points{
      {"beast baseline (fixed JSON)", baseline.port(), {get_request("/v1/models")}, true},
      {"gateway GET /v1/models", gw_port, {get_request("/v1/models")}},
      {"gateway POST /v1/chat (instant backend)", gw_port,
       {post_request("/v1/chat", R"({"message":"ping","session_id":"s1"})")}},
  };
  // Full turns: a real node (every role, troupe-dev model) on its own
  // nats-server and PostgreSQL. One session runs its turns one by one, so each
  // client chats on a session of its own; a turn is inference, the commit of
  // both messages and the reply. "New session" adds activation (directory
  // claim, session row) to every request.
  // The streaming run's provider is registered before the node starts.
  std::unique_ptr<test::nats_server> nats;
  std::unique_ptr<test::pg_server> pg;
  std::unique_ptr<bench::sse_provider> provider;
  std::unique_ptr<test::node_process> node;
  if (full_turn || stream) {
    nats = std::make_unique<test::nats_server>();
    pg = std::make_unique<test::pg_server>();
    auto db = pg->create_database("bench");
    if (stream) {
      provider = std::make_unique<bench::sse_provider>(
          streaming.tokens,
          std::chrono::microseconds{static_cast<int64_t>(streaming.gap_ms * 1000)});
      if (!bench::register_provider(db, provider->base_url()))
        return 1;
    }
    node = std::make_unique<test::node_process>(test::node_options{"bench", {}, nats->url(), db});
    if (!node->wait_ready()) {
      std::fprintf(stderr, "the node did not become ready:\n%s\n", node->log().c_str());
      return 1;
    }
  }
  if (full_turn) {
    auto sessions = open_sessions(*node, std::ranges::max(parse_counts(connections)));
    if (!sessions)
      return 1;
    points.push_back(
        {"full turn, a session per client", node->gateway_port(), chat_requests(*sessions)});
    points.push_back({"full turn, a new session each", node->gateway_port(),
                      {post_request("/v1/chat", R"({"message":"ping"})")}});
  }
  auto duration = std::chrono::milliseconds{static_cast<int64_t>(seconds * 1000)};
  std::printf("gateway_http: %.1f s per point, server I/O threads %zu, client threads %zu\n",
              seconds, server_threads, client_threads);
  std::printf("%-42s %6s %11s %9s %9s %6s\n", "point", "conns", "req/s", "p50 us", "p99 us",
              "fail");
  for (auto n : parse_counts(connections)) {
    bench::load_result base;
    for (const auto& p : points) {
      bench::run_load(p.port, p.requests, n, client_threads, std::chrono::milliseconds{300});
      auto r = bench::run_load(p.port, p.requests, n, client_threads, duration);
      std::printf("%-42s %6zu %11.0f %9.1f %9.1f %6zu\n", p.name.c_str(), n, r.requests_per_second,
                  r.p50_us, r.p99_us, r.failures);
      if (p.baseline) {
        base = r;
      } else if (base.requests_per_second > 0) {
        std::printf("%-42s %6zu %10.2fx %8.2fx %8.2fx\n", "  ratio to baseline", n,
                    r.requests_per_second / base.requests_per_second, r.p50_us / base.p50_us,
                    r.p99_us / base.p99_us);
      }
    }
  }
  (*gw)->stop();
  if (stream) {
    auto sessions = open_sessions(*node, std::ranges::max(streaming.clients));
    if (!sessions)
      return 1;
    try {
      auto rtt = bench::raw_nats_rtt(self_exe(), nats->url());
      if (!bench::run_streaming(streaming, node->gateway_port(), *sessions, *provider, rtt))
        return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "streaming run: %s\n", e.what());
      return 1;
    }
  }
  return 0;
}
