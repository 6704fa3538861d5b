#include "nodes/node_context.hpp"

namespace troupe::node {

node_context::node_context(config::node_config cfg, bus::transport_ptr transport)
  : config_(std::move(cfg)),
    transport_(std::move(transport)),
    started_(std::chrono::system_clock::now()) {
}

void node_context::set_root(supervision::supervisor_actor root) {
  std::lock_guard<std::mutex> guard{mtx_};
  root_ = std::move(root);
}

supervision::supervisor_actor node_context::root() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return root_;
}

void node_context::update(health_snapshot snapshot) {
  std::lock_guard<std::mutex> guard{mtx_};
  snapshot_ = std::move(snapshot);
  have_snapshot_ = true;
}

health_snapshot node_context::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return snapshot_;
}

std::vector<std::string> node_context::missing() const {
  std::vector<std::string> out;
  if (draining_)
    out.emplace_back("draining");
  if (!transport_ || transport_->state() != bus::link_state::connected)
    out.emplace_back("nats");
  std::lock_guard<std::mutex> guard{mtx_};
  if (!have_snapshot_) {
    out.emplace_back("startup");
    return out;
  }
  if (!snapshot_.postgres_reachable)
    out.emplace_back("postgres");
  if (!snapshot_.migrations_applied)
    out.emplace_back("migrations");
  for (const auto& a : snapshot_.actors)
    if (!a.running)
      out.push_back("actor:" + a.supervisor + "/" + a.name);
  return out;
}

} // namespace troupe::node
