#pragma once
/// The chat roles of a node (gateway, session, inference): the bus resources
/// they share (the session directory, the turn events stream, the store
/// workers, the principal and master keys), their supervised actors, and the
/// gateway's HTTP front. Roles without a real implementation yet keep the
/// plain role service (nodes/role_service.hpp).
#include <caf/actor_system.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <prometheus/registry.h>
#include <vector>

#include "actors/supervision/supervisor.hpp"
#include "bus/bridge.hpp"
#include "bus/nats_transport.hpp"
#include "config/node_config.hpp"

namespace troupe::node {

struct chat_roles_input {
  const config::node_config& cfg;
  std::shared_ptr<bus::nats_transport> nats; // JetStream and KV
  bus::transport_ptr transport;              // requests, replies, services
  bus::transport_ptr one_way;
  std::shared_ptr<const bus::principal_keys> keys; // may be empty: loaded or created here
  bus::bridge_actor bridge;
  prometheus::Registry& metrics;
};

class chat_roles {
public:
  /// Prepares what the configured roles need (blocking: JetStream stream and
  /// KV bucket, key files). Errors name what failed; the node must not start.
  [[nodiscard]] static caf::expected<std::unique_ptr<chat_roles>> prepare(chat_roles_input in,
                                                                          caf::actor_system& sys);
  ~chat_roles();

  /// Counts the sessions live on this node (0 without the session role);
  /// the function may outlive this object.
  std::function<uint32_t()> sessions_active() const;

  /// The supervised children of `role`; empty when the role has none here.
  std::vector<supervision::child_spec> children(config::role role) const;

  /// Starts the gateway's HTTP front when the node has the gateway role;
  /// returns its URL (empty without the role).
  [[nodiscard]] caf::expected<std::string> start_gateway();

  /// Stops the HTTP front (running turns are cancelled) and the store workers.
  void stop();

  struct impl;

private:
  explicit chat_roles(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::node
