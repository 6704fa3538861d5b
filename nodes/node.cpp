#include "nodes/node.hpp"

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>

#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/local_delivery.hpp"
#include "bus/nats_transport.hpp"
#include "bus/principal.hpp"
#include "bus/subjects.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "messages/message_types.hpp"
#include "admin/admin_server.hpp"
#include "nodes/control_actor.hpp"
#include "nodes/errc.hpp"
#include "nodes/error_categories.hpp"
#include "nodes/node_context.hpp"
#include "nodes/role_service.hpp"
#include "nodes/chat_roles.hpp"
#include "nodes/secret_file.hpp"
#include "storage/migrations.hpp"
#include "storage/storage_actor.hpp"

namespace troupe::node {

namespace {

using namespace std::chrono_literals;

supervision::restart_policy policy_of(const config::supervision_settings& s) {
  supervision::restart_policy p;
  p.max_restarts = s.max_restarts;
  p.window = s.window;
  p.backoff_initial = s.backoff_initial;
  p.backoff_max = s.backoff_max;
  return p;
}

bus::nats_options nats_options_of(const config::node_config& cfg) {
  bus::nats_options o;
  o.urls = cfg.nats.urls;
  o.name = "troupe-" + cfg.node.id;
  o.connect_timeout = cfg.nats.connect_timeout;
  o.reconnect_wait = cfg.nats.reconnect_wait;
  o.max_reconnect = cfg.nats.max_reconnect;
  o.reconnect_buffer_bytes = cfg.nats.reconnect_buffer_bytes;
  o.send_asap = cfg.nats.send_asap;
  return o;
}

/// Where a node with the gateway or session role keeps its principal key
/// when the config names none: right for nodes sharing a folder on one machine.
constexpr const char* default_principal_key = ".troupe/principal.key";

caf::expected<std::shared_ptr<const bus::principal_keys>>
load_keys(const config::node_config& cfg) {
  const auto& b = cfg.bus;
  auto keys = std::make_shared<bus::principal_keys>();
  auto needs = [&](config::role r) {
    return std::find(cfg.node.roles.begin(), cfg.node.roles.end(), r) != cfg.node.roles.end();
  };
  std::string secret;
  if (!b.principal_key_file.empty()) {
    std::ifstream in{b.principal_key_file, std::ios::binary};
    secret.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
    if (!in.good() && !in.eof())
      return make_error(errc::startup_failed, "cannot read " + b.principal_key_file);
  } else if (needs(config::role::gateway) || needs(config::role::session)) {
    auto made = read_or_create_secret(default_principal_key, bus::principal_keys::min_secret_bytes);
    if (!made)
      return made.error();
    log::get("node")->warn("bus.principal_key_file is not set: principals are signed with {} "
                           "(fine on one machine; a cluster across machines needs one shared key)",
                           default_principal_key);
    secret = std::move(*made);
  } else {
    return std::shared_ptr<const bus::principal_keys>{keys};
  }
  if (auto err = keys->add(b.principal_key_id, secret))
    return err;
  return std::shared_ptr<const bus::principal_keys>{keys};
}

nlohmann::json health_json(const node_context& ctx) {
  auto snap = ctx.snapshot();
  auto missing = ctx.missing();
  nlohmann::json actors = nlohmann::json::array();
  for (const auto& a : snap.actors)
    actors.push_back({{"supervisor", a.supervisor},
                      {"name", a.name},
                      {"running", a.running},
                      {"restarts", a.restarts},
                      {"mailbox_size", a.mailbox_size}});
  const auto& cfg = ctx.config();
  nlohmann::json roles = nlohmann::json::array();
  for (auto r : cfg.node.roles)
    roles.push_back(std::string{config::to_string(r)});
  return {{"node_id", cfg.node.id},
          {"cluster", cfg.node.cluster},
          {"roles", roles},
          {"ready", missing.empty()},
          {"missing", missing},
          {"nats", std::string{bus::to_string(ctx.transport()->state())}},
          {"postgres",
           {{"reachable", snap.postgres_reachable},
            {"migrations_applied", snap.migrations_applied},
            {"schema_version", snap.schema_version},
            {"error", snap.postgres_error}}},
          {"peers", snap.peers},
          {"actors", actors}};
}

/// Waits for SIGINT/SIGTERM or for `stop_requested` to turn true.
int wait_for_shutdown(const std::atomic<bool>& fatal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec tick{0, 100'000'000};
  while (!fatal.load()) {
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM)
      return sig;
  }
  return 0;
}

} // namespace

void block_shutdown_signals() {
  // A shell starts background jobs with SIGINT ignored; an ignored signal is
  // discarded even while blocked, so restore the default first.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_node(const config::node_config& cfg) {
  log::configure(cfg.log.level, cfg.log.format);
  auto lg = log::get("node");
  auto registry = metrics::make_registry();
  lg->info("starting node '{}' in cluster '{}' (troupe {})", cfg.node.id, cfg.node.cluster,
           TROUPE_VERSION);

  auto transport = bus::connect_nats(nats_options_of(cfg), registry.get());
  if (!transport) {
    lg->error("cannot connect to NATS: {}", describe(transport.error()));
    return 1;
  }
  // One-way traffic (events, stream chunks, heartbeats) gets a connection of
  // its own without send_asap: bursts leave in batches instead of a write
  // each, and requests on the main connection keep their latency.
  auto stream_opts = nats_options_of(cfg);
  stream_opts.name += "-stream";
  stream_opts.send_asap = false;
  auto one_way = bus::connect_nats(stream_opts, registry.get());
  if (!one_way) {
    lg->error("cannot connect to NATS: {}", describe(one_way.error()));
    return 1;
  }
  if (cfg.database.migrate_on_start) {
    auto report = storage::migrate(cfg.database.url, storage::builtin_migrations(), 30s);
    if (!report) {
      lg->error("database migration failed: {}", describe(report.error()));
      return 1;
    }
    lg->info("database schema at version {} ({} migration(s) applied now)",
             report->schema_version, report->applied.size());
  }
  auto keys = load_keys(cfg);
  if (!keys) {
    lg->error("principal keys: {}", describe(keys.error()));
    return 1;
  }

  caf::actor_system_config sys_cfg;
  announce_message_types(sys_cfg);
  register_error_categories(sys_cfg);
  // Work sharing wakes an idle worker at once; the default work stealing
  // lets idle workers sleep ~50 µs between polls, which a bus round trip
  // pays twice (bus/README.md has the measurements).
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  int exit_code = 0;
  // Declared before the actor system: the attach_functors below may still run
  // while the system's destructor waits for its actors.
  std::atomic<bool> fatal{false};
  std::string fatal_reason;
  std::mutex reason_mtx;
  {
    caf::actor_system sys{sys_cfg};
    auto ctx = std::make_shared<node_context>(cfg, *transport);
    bus::bridge_config bcfg{cfg.node.cluster, cfg.node.id, cfg.bus.max_envelope_bytes, *keys,
                            *one_way};
    // Requests to services and sessions this node hosts skip the server;
    // the receiver's checks run all the same (bus/local_delivery.hpp).
    auto messaging = std::make_shared<bus::local_delivery>(
        *transport, std::vector<std::string>{*bus::subjects{cfg.node.cluster}.node_prefix(cfg.node.id)});
    auto bridge = bus::make_bridge(sys, messaging, bcfg, *registry);
    auto store = storage::make_storage_actor(sys, cfg.database.url, cfg.database.connect_timeout);

    auto policy = policy_of(cfg.supervision);
    bus::subjects subjects{cfg.node.cluster};
    std::vector<supervision::child_spec> top;
    top.push_back(supervision::supervisor_child(
      "system", policy, {control_child(ctx, bridge, store)}, registry.get()));
    auto chat = chat_roles::prepare(
        {cfg, *transport, messaging, *one_way, *keys, bridge, *registry}, sys);
    if (!chat) {
      lg->error("cannot start: {}", describe(chat.error()));
      caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
      return 1;
    }
    ctx->set_sessions_active((*chat)->sessions_active());
    for (auto r : cfg.node.roles) {
      std::string role{config::to_string(r)};
      auto children = (*chat)->children(r);
      if (children.empty()) {
        role_service_args args{cfg.node.id, role, *subjects.svc(role),
                               cfg.bus.require_principal, bridge};
        children.push_back(role_service_child(args));
      }
      top.push_back(
          supervision::supervisor_child(role, policy, std::move(children), registry.get()));
    }
    auto root = supervision::make_supervisor(sys, "root", policy, std::move(top), registry.get());
    ctx->set_root(root);

    // The bridge, the storage actor and the root tree are the node: when any
    // of them ends, the node ends (a root that exhausted its restart budget
    // exits non-zero so the service manager restarts the process).
    auto watch = [&](const caf::actor& who, const char* what) {
      who->attach_functor([&, what](const caf::error& reason) {
        if (fatal.load())
          return;
        std::lock_guard<std::mutex> guard{reason_mtx};
        fatal_reason = std::string{what} + " ended: " + describe(reason);
        fatal = true;
      });
    };
    watch(caf::actor_cast<caf::actor>(bridge), "bridge");
    watch(caf::actor_cast<caf::actor>(store), "storage");
    watch(caf::actor_cast<caf::actor>(root), "root supervisor");

    admin::hooks hooks;
    hooks.ready = [ctx] {
      auto missing = ctx->missing();
      return admin::readiness{missing.empty(), std::move(missing)};
    };
    hooks.health = [ctx] { return health_json(*ctx); };
    hooks.metrics = registry;
    admin::server_config acfg;
    acfg.host = cfg.admin.host;
    acfg.port = cfg.admin.port;
    auto admin = admin::admin_server::start(acfg, hooks);
    if (!admin) {
      lg->error("admin server: {}", describe(admin.error()));
      fatal = true;
      exit_code = 1;
    } else {
      lg->info("node '{}' up: admin http://{}:{} (roles: {})", cfg.node.id, cfg.admin.host,
               (*admin)->port(), nlohmann::json(health_json(*ctx)["roles"]).dump());
    }
    if (exit_code == 0) {
      if (auto url = (*chat)->start_gateway(); !url) {
        lg->error("{}", describe(url.error()));
        fatal = true;
        exit_code = 1;
      } else if (!url->empty()) {
        lg->info("gateway: {} (POST /v1/chat, /v1/chat/completions)", *url);
      }
    }

    int sig = exit_code == 0 ? wait_for_shutdown(fatal) : 0;
    auto deadline = std::chrono::steady_clock::now() + cfg.node.shutdown_timeout;
    ctx->begin_draining();
    if (sig != 0) {
      lg->info("{} received: draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
    } else if (exit_code == 0) {
      std::lock_guard<std::mutex> guard{reason_mtx};
      lg->error("shutting down: {}", fatal_reason);
      exit_code = 2;
    }
    // Stop accepting work first, then let in-flight messages finish.
    (*chat)->stop();
    {
      caf::scoped_actor self{sys};
      self->monitor(root);
      self->send(root, stop_atom::value);
      self->receive([](const caf::down_msg&) {},
                    caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(
                      (deadline - std::chrono::steady_clock::now()) / 2))
                      >> [&] { lg->warn("supervision tree did not stop in time"); });
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    for (auto* t : {&*one_way, &*transport})
      if (auto err = (*t)->drain(std::max(remaining / 4, std::chrono::milliseconds{100})))
        lg->warn("NATS drain: {}", describe(err));
    caf::anon_send_exit(bridge, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    if (admin)
      (*admin)->stop();
  }
  lg->info("node '{}' stopped", cfg.node.id);
  return exit_code;
}

} // namespace troupe::node
