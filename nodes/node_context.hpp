#pragma once
/// State the node's actors share with threads that are not actors (the admin
/// server's I/O thread, the signal loop). Every field is behind the mutex or
/// atomic: writers are the control actor and the node's main thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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

  /// How many sessions the node hosts, for its heartbeat; set once, before
  /// the node's actors start (nodes without the session role leave it).
  void set_sessions_active(std::function<uint32_t()> count) { sessions_active_ = std::move(count); }
  uint32_t sessions_active() const { return sessions_active_ ? sessions_active_() : 0; }

  /// What /ready lists as missing; empty when the node is ready.
  std::vector<std::string> missing() const;

private:
  config::node_config config_;
  bus::transport_ptr transport_;
  std::chrono::system_clock::time_point started_;
  std::atomic<bool> draining_{false};
  std::function<uint32_t()> sessions_active_;
  mutable std::mutex mtx_;
  supervision::supervisor_actor root_;
  health_snapshot snapshot_;
  bool have_snapshot_ = false;
};

} // namespace troupe::node
