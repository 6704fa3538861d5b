#include "nodes/control_actor.hpp"

#include <map>

#include "bus/bridge.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/ping.hpp"
#include "bus/subjects.hpp"
#include "common/logging.hpp"
#include "nodes/errc.hpp"
#include "nodes/version.hpp"
#include "storage/storage_actor.hpp"

namespace troupe::node {

namespace {

using namespace std::chrono_literals;

constexpr auto refresh_interval = 500ms;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

struct control_state {
  std::shared_ptr<node_context> ctx;
  bus::bridge_actor bridge;
  storage::storage_actor store;
  std::map<std::string, int64_t> peers; // node id → last heartbeat (unix ms)
  health_snapshot snapshot;
  bool have_storage = false;
  bool have_actors = false;
  int64_t last_heartbeat = 0;
  static inline const char* name = "control";
};

using self_ptr = control_actor::stateful_pointer<control_state>;

troupe::v1::Heartbeat make_heartbeat(const node_context& ctx) {
  troupe::v1::Heartbeat hb;
  const auto& cfg = ctx.config();
  hb.set_node_id(cfg.node.id);
  hb.set_cluster(cfg.node.cluster);
  for (auto r : cfg.node.roles)
    hb.add_roles(std::string{config::to_string(r)});
  hb.set_at_unix_ms(now_ms());
  hb.set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now() - ctx.started())
                     .count());
  hb.set_ready(ctx.missing().empty());
  hb.set_sessions_active(ctx.sessions_active());
  hb.set_admin_url("http://" + cfg.admin.host + ":" + std::to_string(cfg.admin.port));
  return hb;
}

void publish_snapshot(self_ptr self) {
  auto& st = self->state;
  if (!st.have_storage || !st.have_actors)
    return;
  auto expiry = now_ms() - 3 * st.ctx->config().node.heartbeat_interval.count();
  st.snapshot.peers.clear();
  for (auto i = st.peers.begin(); i != st.peers.end();) {
    if (i->second < expiry) {
      i = st.peers.erase(i);
    } else {
      st.snapshot.peers.push_back(i->first);
      ++i;
    }
  }
  st.ctx->update(st.snapshot);
}

void refresh(self_ptr self) {
  auto& st = self->state;
  self->request(st.store, 1s, status_atom::value)
    .then(
      [self](const storage::storage_status& s) {
        auto& snap = self->state.snapshot;
        snap.postgres_reachable = s.reachable;
        snap.migrations_applied = s.migrated;
        snap.schema_version = s.schema_version;
        snap.postgres_error = s.last_error;
        self->state.have_storage = true;
        publish_snapshot(self);
      },
      [self](const caf::error& err) {
        auto& snap = self->state.snapshot;
        snap.postgres_reachable = false;
        snap.postgres_error = self->system().render(err);
        self->state.have_storage = true;
        publish_snapshot(self);
      });
  if (auto root = st.ctx->root())
    self->request(root, 1s, info_atom::value)
      .then(
        [self](std::vector<supervision::child_info>& actors) {
          self->state.snapshot.actors = std::move(actors);
          self->state.have_actors = true;
          publish_snapshot(self);
        },
        [](const caf::error&) {});
}

void heartbeat(self_ptr self) {
  auto& st = self->state;
  auto hb = make_heartbeat(*st.ctx);
  bus::subjects subjects{st.ctx->config().node.cluster};
  auto subject = subjects.heartbeat(st.ctx->config().node.id);
  if (subject)
    self->send(st.bridge, publish_atom::value, *subject, bus::make_envelope(hb));
  self->send(st.store, info_atom::value, std::move(hb));
  st.last_heartbeat = now_ms();
}

void handle(self_ptr self, bus::inbound& in) {
  auto& st = self->state;
  const auto& type = in.env.payload_type();
  if (type == "troupe.v1.Heartbeat") {
    auto hb = bus::payload_of<troupe::v1::Heartbeat>(in);
    if (hb && (*hb)->node_id() != st.ctx->config().node.id)
      st.peers[(*hb)->node_id()] = now_ms();
    return;
  }
  if (!in.reply)
    return;
  // Gateways ping a node that runs their turns to learn it is still there.
  if (bus::answer_ping(in, st.ctx->config().node.id))
    return;
  if (type == "troupe.v1.NodeInfoRequest") {
    (void) in.reply->send(bus::make_reply(in.env, make_node_info(*st.ctx)));
    return;
  }
  (void) in.reply->send(
    bus::error_reply(in.env, bus::errc::unknown_type, "the control plane does not handle " + type));
}

void serve(self_ptr self, std::string subject) {
  self->request(self->state.bridge, 5s, serve_atom::value, std::move(subject), std::string{},
                caf::actor_cast<caf::actor>(self), false)
    .then([](bool) {},
          [self](const caf::error& err) {
            self->quit(make_error(errc::service_unavailable, self->system().render(err)));
          });
}

control_actor::behavior_type control(self_ptr self, std::shared_ptr<node_context> ctx,
                                     bus::bridge_actor bridge, storage::storage_actor store) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.bridge = std::move(bridge);
  st.store = std::move(store);
  bus::subjects subjects{st.ctx->config().node.cluster};
  if (auto s = subjects.ctl(st.ctx->config().node.id))
    serve(self, *s);
  if (auto s = subjects.heartbeat("*"))
    serve(self, *s);
  heartbeat(self);
  self->send(self, tick_atom::value);
  return {
    [self](inbound_atom, bus::inbound& in) { handle(self, in); },
    [self](tick_atom) {
      auto& st = self->state;
      refresh(self);
      const auto interval = st.ctx->config().node.heartbeat_interval;
      if (now_ms() - st.last_heartbeat >= interval.count())
        heartbeat(self);
      // Ticking slower than the heartbeat interval would stretch it: peers
      // (and gateways placing sessions) drop a node after three intervals.
      self->delayed_send(self, std::min<std::chrono::milliseconds>(refresh_interval, interval),
                         tick_atom::value);
    },
    [self](status_atom) { refresh(self); },
  };
}

} // namespace

troupe::v1::NodeInfo make_node_info(const node_context& ctx) {
  troupe::v1::NodeInfo info;
  const auto& cfg = ctx.config();
  info.set_node_id(cfg.node.id);
  info.set_cluster(cfg.node.cluster);
  for (auto r : cfg.node.roles)
    info.add_roles(std::string{config::to_string(r)});
  info.set_version(std::string{version});
  auto started = std::chrono::duration_cast<std::chrono::milliseconds>(
                   ctx.started().time_since_epoch())
                   .count();
  info.set_started_unix_ms(started);
  info.set_uptime_ms(now_ms() - started);
  auto snap = ctx.snapshot();
  for (const auto& a : snap.actors) {
    auto* out = info.add_actors();
    out->set_name(a.name);
    out->set_role(a.supervisor);
    out->set_mailbox_size(a.mailbox_size);
    out->set_restarts(a.restarts);
    out->set_running(a.running);
  }
  for (const auto& p : snap.peers)
    info.add_peers(p);
  auto missing = ctx.missing();
  info.set_ready(missing.empty());
  for (auto& m : missing)
    info.add_not_ready(std::move(m));
  return info;
}

supervision::child_spec control_child(std::shared_ptr<node_context> ctx, bus::bridge_actor bridge,
                                      storage::storage_actor store) {
  return {"control", [=](caf::local_actor& parent) {
            return caf::actor_cast<caf::actor>(parent.spawn(control, ctx, bridge, store));
          }};
}

} // namespace troupe::node
