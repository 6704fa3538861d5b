#include "nodes/chat_roles.hpp"

#include <algorithm>

#include "actors/gateway/bus_backend.hpp"
#include "actors/gateway/gateway_actor.hpp"
#include "actors/gateway/http/gateway_server.hpp"
#include "actors/gateway/identity/bearer_authenticator.hpp"
#include "actors/gateway/identity/dev_authenticator.hpp"
#include "actors/gateway/identity/key_file.hpp"
#include "actors/inference/inference_service.hpp"
#include "actors/session/session_host.hpp"
#include "actors/session/session_store.hpp"
#include "bus/jetstream.hpp"
#include "bus/jetstream_event_log.hpp"
#include "common/worker_pool.hpp"
#include "bus/kv.hpp"
#include "common/logging.hpp"
#include "nodes/errc.hpp"

namespace troupe::node {

namespace {

using namespace std::chrono_literals;

/// Store workers per node: activations and queries of different sessions run
/// in parallel.
constexpr size_t store_workers = 4;
/// Turn committers per node: each commits the turns that gathered while its
/// last commit ran, so two keep PostgreSQL busy without many small commits.
constexpr size_t commit_workers = 2;
/// Workers for the session directory's KV round trips (claims, removals),
/// apart from the store workers so a slow KV never holds a database worker.
constexpr size_t directory_workers = 2;

bool has(const config::node_config& cfg, config::role r) {
  return std::find(cfg.node.roles.begin(), cfg.node.roles.end(), r) != cfg.node.roles.end();
}

caf::error startup_error(std::string what, const caf::error& err) {
  return make_error(errc::startup_failed, what + ": " + caf::to_string(err));
}

caf::expected<gateway::authenticator_ptr> make_authenticator(const config::node_config& cfg) {
  const auto& a = cfg.auth;
  if (a.mode == "dev") {
    log::get("gateway")->warn("auth.mode = \"dev\": the gateway authenticates NO ONE; every "
                              "caller is {}/{}. Never expose this node.",
                              a.dev_tenant, a.dev_user);
    gateway::identity::dev_options opts;
    opts.tenant = a.dev_tenant;
    opts.user = a.dev_user;
    return gateway::identity::make_dev_authenticator(opts);
  }
  gateway::identity::bearer_options opts;
  if (!a.jwt_hs256_secret_file.empty() || !a.jwt_ed25519_public_key_file.empty()) {
    gateway::identity::jwt_options jwt;
    if (!a.jwt_hs256_secret_file.empty()) {
      auto secret = gateway::identity::read_key_file(a.jwt_hs256_secret_file, "HS256 secret");
      if (!secret)
        return secret.error();
      jwt.hs256_secret = std::move(*secret);
    }
    if (!a.jwt_ed25519_public_key_file.empty()) {
      auto pem =
          gateway::identity::read_key_file(a.jwt_ed25519_public_key_file, "Ed25519 public key");
      if (!pem)
        return pem.error();
      jwt.ed25519_public_key_pem = std::move(*pem);
    }
    jwt.issuer = a.jwt_issuer;
    jwt.audience = a.jwt_audience;
    jwt.leeway = a.jwt_leeway;
    jwt.tenant_claim = a.jwt_tenant_claim;
    jwt.tenant = a.tenant;
    auto verifier = gateway::identity::jwt_verifier::make(std::move(jwt));
    if (!verifier)
      return verifier.error();
    opts.jwt = std::move(*verifier);
  }
  opts.api_keys.database_url = cfg.database.url;
  opts.api_keys.connect_timeout = cfg.database.connect_timeout;
  opts.cache_ttl = a.api_key_cache_ttl;
  opts.tenant = a.tenant;
  return gateway::identity::make_bearer_authenticator(std::move(opts));
}

bus::jetstream_event_log_options events_log_options(const config::node_config& cfg) {
  bus::jetstream_event_log_options o;
  o.ack_timeout = cfg.events.ack_timeout;
  return o;
}

gateway::gateway_config gateway_config_of(const config::node_config& cfg,
                                          const chat_roles_input& in) {
  gateway::gateway_config g;
  g.node_id = cfg.node.id;
  g.cluster = cfg.node.cluster;
  g.transport = in.transport;
  g.keys = in.keys;
  g.bridge = in.bridge;
  g.turn_timeout = cfg.gateway.turn_timeout;
  g.request_timeout = cfg.bus.request_timeout;
  // A turn whose host died is re-sent within about half a heartbeat interval.
  g.owner_probe_interval = std::max(cfg.node.heartbeat_interval / 4, std::chrono::milliseconds{20});
  // A hung node (no answer, but still subscribed) is given up after two.
  g.owner_silence_limit = 2 * cfg.node.heartbeat_interval;
  // As the node's own view of its peers: three heartbeats missed.
  g.node_expiry = 3 * cfg.node.heartbeat_interval;
  g.max_envelope_bytes = cfg.bus.max_envelope_bytes;
  g.metrics = &in.metrics;
  return g;
}

} // namespace

struct chat_roles::impl {
  impl(const config::node_config& c, chat_roles_input i) : cfg(c), in(std::move(i)) {}

  const config::node_config& cfg;
  chat_roles_input in;
  storage::store_pool_ptr store{};
  storage::turn_committer_ptr committer{};
  std::shared_ptr<worker_pool> directory_workers{};
  session::session_env_ptr session_env{};
  gateway::gateway_slot_ptr gateway = std::make_shared<gateway::gateway_slot>();
  inference::inference_env_ptr inference_env{};
  gateway::chat_backend_ptr backend{};
  std::unique_ptr<gateway::http::gateway_server> server{};
};

chat_roles::chat_roles(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

std::function<uint32_t()> chat_roles::sessions_active() const {
  if (!impl_->session_env)
    return [] { return uint32_t{0}; };
  return [metrics = impl_->session_env->metrics] { return metrics->sessions_active(); };
}

chat_roles::~chat_roles() {
  stop();
}

caf::expected<std::unique_ptr<chat_roles>> chat_roles::prepare(chat_roles_input in,
                                                               caf::actor_system& sys) {
  const auto& cfg = in.cfg;
  auto p = std::make_unique<impl>(cfg, in);
  bool session = has(cfg, config::role::session);
  bool inference = has(cfg, config::role::inference);
  if (session || inference)
    p->store = std::make_shared<storage::store_pool>(sys, cfg.database.url,
                                                     cfg.database.connect_timeout, store_workers);
  bus::subjects subjects{cfg.node.cluster};
  if (session) {
    auto js = bus::jetstream::open(*in.nats);
    if (!js)
      return startup_error("JetStream", js.error());
    // Every turn event of the cluster, for subscribers and the audit ([events]).
    bus::stream_config events{"TROUPE_EVENTS_" + cfg.node.cluster,
                              {subjects.all_events()},
                              cfg.events.max_age,
                              bus::storage_kind::file,
                              cfg.events.replicas,
                              cfg.events.duplicate_window,
                              cfg.events.max_bytes};
    if (auto err = js->ensure_stream(events))
      return startup_error("turn events stream", err);
    auto dir = bus::kv_bucket::open_or_create(*js, "troupe_sessions_" + cfg.node.cluster, 0s, 1);
    if (!dir)
      return startup_error("session directory", dir.error());
    auto env = std::make_shared<session::session_env>();
    env->node_id = cfg.node.id;
    env->subjects = subjects;
    env->transport = in.transport;
    env->one_way = in.one_way;
    env->keys = in.keys;
    env->store = p->store;
    p->committer = std::make_shared<storage::turn_committer>(
        sys, cfg.database.url, cfg.database.connect_timeout, commit_workers);
    env->turn_store = session::make_pg_session_store(p->committer);
    auto events_log = bus::make_jetstream_event_log(*in.nats, events_log_options(cfg));
    if (!events_log)
      return startup_error("turn events log", events_log.error());
    env->events = std::move(*events_log);
    env->event_horizon = std::max<std::chrono::milliseconds>(
      1s, std::chrono::duration_cast<std::chrono::milliseconds>(cfg.events.duplicate_window) - 5s);
    env->directory = std::make_shared<bus::kv_bucket>(std::move(*dir));
    p->directory_workers = std::make_shared<worker_pool>(sys, directory_workers);
    env->directory_workers = p->directory_workers;
    env->settings = cfg.session;
    env->pipeline.max_model_calls = cfg.session.max_model_calls;
    // Room for the envelope around the result, and for its principal.
    env->pipeline.max_result_bytes = cfg.bus.max_envelope_bytes > 8192
                                       ? cfg.bus.max_envelope_bytes - 4096
                                       : cfg.bus.max_envelope_bytes / 2;
    env->request_timeout = cfg.bus.request_timeout;
    env->registry = &in.metrics;
    env->inference_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        cfg.inference.request_timeout + 10s);
    env->max_envelope_bytes = cfg.bus.max_envelope_bytes;
    env->metrics = std::make_shared<session::session_metrics>(&in.metrics);
    p->session_env = std::move(env);
  }
  if (inference) {
    auto path = cfg.inference.master_key_file.empty() ? std::string{".troupe/master.key"}
                                                      : cfg.inference.master_key_file;
    auto keys = inference::keyring::open_or_create(path);
    if (!keys)
      return startup_error("master key " + path, keys.error());
    auto env = std::make_shared<inference::inference_env>();
    env->node_id = cfg.node.id;
    env->subjects = subjects;
    env->keys = std::make_shared<const inference::keyring>(std::move(*keys));
    env->store = p->store;
    env->settings = cfg.inference;
    p->inference_env = std::move(env);
  }
  return std::unique_ptr<chat_roles>{new chat_roles(std::move(p))};
}

std::vector<supervision::child_spec> chat_roles::children(config::role role) const {
  switch (role) {
    case config::role::session:
      return {session::session_host_child(impl_->session_env, impl_->in.bridge)};
    case config::role::inference:
      return {inference::inference_service_child(impl_->inference_env, impl_->in.bridge)};
    case config::role::gateway:
      return {gateway::gateway_child(gateway_config_of(impl_->cfg, impl_->in), impl_->gateway)};
    default:
      return {};
  }
}

caf::expected<std::string> chat_roles::start_gateway() {
  const auto& cfg = impl_->cfg;
  if (!has(cfg, config::role::gateway))
    return std::string{};
  auto auth = make_authenticator(cfg);
  if (!auth)
    return startup_error("gateway authentication", auth.error());
  impl_->backend = gateway::make_bus_backend(impl_->gateway, impl_->in.nats);
  gateway::http::server_options opts;
  opts.host = cfg.gateway.host;
  opts.port = cfg.gateway.port;
  opts.io_threads = cfg.gateway.io_threads;
  opts.max_header_bytes = cfg.gateway.max_header_bytes;
  opts.max_body_bytes = cfg.gateway.max_body_bytes;
  opts.max_connections = cfg.gateway.max_connections;
  opts.read_timeout = cfg.gateway.read_timeout;
  opts.idle_timeout = cfg.gateway.idle_timeout;
  opts.turn_timeout = cfg.gateway.turn_timeout;
  opts.call_timeout = cfg.bus.request_timeout * 2;
  opts.rate_per_second = cfg.gateway.rate_limit_per_s;
  opts.rate_burst = cfg.gateway.rate_limit_burst;
  auto server = gateway::http::gateway_server::start(opts, std::move(*auth), impl_->backend,
                                                     &impl_->in.metrics);
  if (!server)
    return startup_error("gateway HTTP front", server.error());
  impl_->server = std::move(*server);
  return "http://" + cfg.gateway.host + ":" + std::to_string(impl_->server->port());
}

void chat_roles::stop() {
  // The gateway actor is a supervised child: it ends with the role's
  // supervisor and answers what it still had in flight.
  if (impl_->server)
    impl_->server->stop();
  impl_->server.reset();
  impl_->backend.reset();
  if (impl_->store)
    impl_->store->stop();
  if (impl_->committer)
    impl_->committer->stop();
  if (impl_->directory_workers)
    impl_->directory_workers->stop();
}

} // namespace troupe::node
