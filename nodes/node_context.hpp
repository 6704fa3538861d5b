#pragma once
/// State the node's actors share with threads that are not actors (the admin
/// server's I/O thread, the signal loop). Every field is behind the mutex or
/// atomic: writers are the control actor and the node's main thread.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "actors/supervision/supervisor.hpp"
#include "bus/transport.hpp"
#include "config/node_config.hpp"

namespace troupe::node {

/// The live picture of readiness inputs, refreshed by the control actor.
struct health_snapshot {
  bool postgres_reachable = false;
  bool migrations_applied = false;
  int schema_version = 0;
  std::string postgres_error;
  std::vector<supervision::child_info> actors;
  std::vector<std::string> peers; // node ids seen on the heartbeat subject
};

class node_context {
public:
  node_context(config::node_config cfg, bus::transport_ptr transport);

  const config::node_config& config() const noexcept { return config_; }
  const bus::transport_ptr& transport() const noexcept { return transport_; }
  std::chrono::system_clock::time_point started() const noexcept { return started_; }

  void set_root(supervision::supervisor_actor root);
  supervision::supervisor_actor root() const;

  void update(health_snapshot snapshot);
  health_snapshot snapshot() const;

  /// Set when shutdown begins: the node reports not ready from then on.
  void begin_draining() noexcept { draining_ = true; }
  bool draining() const noexcept { return draining_; }

  /// What /ready lists as missing; empty when the node is ready.
  std::vector<std::string> missing() const;

private:
  config::node_config config_;
  bus::transport_ptr transport_;
  std::chrono::system_clock::time_point started_;
  std::atomic<bool> draining_{false};
  mutable std::mutex mtx_;
  supervision::supervisor_actor root_;
  health_snapshot snapshot_;
  bool have_snapshot_ = false;
};

} // namespace troupe::node
