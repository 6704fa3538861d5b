#pragma once
/// The node's configuration as plain values, comparable so that a reload can
/// tell what changed. Every member has a working
/// default except database.url; config/load.hpp fills it from TOML and TROUPE_*
/// variables and validates it. Each key is documented in troupe.example.toml.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/logging.hpp"
#include "config/role.hpp"

namespace troupe::config {

/// This host's name made into a NATS subject token: characters outside
/// [A-Za-z0-9_-] become '-', at most 64 characters, "node" if nothing is left.
/// A default that differs per machine keeps two nodes started from one file
/// from claiming the same subjects.
std::string default_node_id();

struct node_settings {
  /// Subject token naming this node; empty in a file or variable means the default.
  std::string id = default_node_id();
  std::string cluster = "troupe";
  std::vector<role> roles = all_roles();
  std::chrono::milliseconds heartbeat_interval{2000};
  std::chrono::seconds shutdown_timeout{8};

  bool operator==(const node_settings&) const = default;
};

struct nats_settings {
  std::vector<std::string> urls{"nats://127.0.0.1:4222"};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait{250};
  /// -1: reconnect forever.
  int max_reconnect = -1;
  std::size_t reconnect_buffer_bytes = std::size_t{8} << 20;
  bool send_asap = true;

  bool operator==(const nats_settings&) const = default;
};

struct database_settings {
  /// Required: there is no sensible default database.
  std::string url;
  std::chrono::seconds connect_timeout{5};
  bool migrate_on_start = true;

  bool operator==(const database_settings&) const = default;
};

struct admin_settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9464;

  bool operator==(const admin_settings&) const = default;
};

struct bus_settings {
  std::size_t max_envelope_bytes = std::size_t{1} << 20;
  std::chrono::milliseconds request_timeout{5000};
  bool require_principal = false;
  /// HMAC key, raw bytes (at least 32); empty: no key. A relative path in a
  /// config file is resolved against that file's folder when it is loaded.
  std::string principal_key_file;
  std::string principal_key_id = "k1";

  bool operator==(const bus_settings&) const = default;
};

struct gateway_settings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::uint32_t io_threads = 2;
  std::size_t max_body_bytes = std::size_t{1} << 20;
  std::size_t max_header_bytes = 16 * 1024;
  std::uint32_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds turn_timeout{120};
  /// Requests per second per principal; 0 turns the limit off.
  std::uint32_t rate_limit_per_s = 10;
  std::uint32_t rate_limit_burst = 20;

  bool operator==(const gateway_settings&) const = default;
};

struct auth_settings {
  /// "required": every /v1 request carries a JWT or an API key. "dev": no
  /// authentication at all, everyone is dev_tenant/dev_user (logged loudly).
  std::string mode = "required";
  std::string dev_tenant = "default";
  std::string dev_user = "dev";
  std::string jwt_hs256_secret_file;
  std::string jwt_ed25519_public_key_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::chrono::seconds jwt_leeway{30};
  /// The JWT claim naming the tenant ("tid" for Azure AD, Org in a Box).
  std::string jwt_tenant_claim = "tenant";
  /// Single-tenant pinning: every principal must be of this tenant; a JWT
  /// without the tenant claim acts for it. Empty: multi-tenant.
  std::string tenant;
  std::chrono::seconds api_key_cache_ttl{30};

  bool operator==(const auth_settings&) const = default;
};

struct inference_settings {
  /// AES-256-GCM key for provider keys at rest; created (mode 0600) on first
  /// start. Empty: .troupe/master.key under the working folder.
  std::string master_key_file;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::seconds request_timeout{120};
  std::uint32_t max_retries = 3;
  std::chrono::milliseconds retry_backoff{500};
  std::chrono::seconds registry_refresh{10};
  /// Threads that carry every provider call (libcurl multi handles).
  std::uint32_t provider_threads = 2;

  bool operator==(const inference_settings&) const = default;
};

struct session_settings {
  /// A session actor with no turn for this long is passivated.
  std::chrono::seconds idle_timeout{600};
  /// How many earlier messages a turn sends to the model.
  std::uint32_t max_history_messages = 200;
  /// Turns that may wait behind a session's running turn; one more is
  /// refused with session_busy (HTTP 429 with Retry-After).
  std::uint32_t max_queued_turns = 16;
  /// The most model calls one turn makes: the bound of the tool loop.
  std::uint32_t max_model_calls = 8;

  bool operator==(const session_settings&) const = default;
};

/// The stream of turn events (JetStream) and how they are published to it.
struct events_settings {
  /// How long events are kept; 0 keeps them until max_bytes applies.
  std::chrono::hours max_age{168};
  /// The stream's size limit; past it the oldest events go. -1: no limit.
  std::int64_t max_bytes = -1;
  int replicas = 1;
  /// How long the server remembers message ids: a retry inside it is
  /// dropped as a duplicate.
  std::chrono::seconds duplicate_window{120};
  /// How long one publish attempt waits for the stream's acknowledgement.
  std::chrono::milliseconds ack_timeout{2000};

  bool operator==(const events_settings&) const = default;
};

struct supervision_settings {
  std::uint32_t max_restarts = 5;
  std::chrono::seconds window{30};
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};

  bool operator==(const supervision_settings&) const = default;
};

struct log_settings {
  std::string level = "info";
  troupe::log::format format = troupe::log::format::text;

  bool operator==(const log_settings&) const = default;
};

struct node_config {
  node_settings node;
  nats_settings nats;
  database_settings database;
  admin_settings admin;
  bus_settings bus;
  gateway_settings gateway;
  auth_settings auth;
  inference_settings inference;
  session_settings session;
  events_settings events;
  supervision_settings supervision;
  log_settings log;

  bool operator==(const node_config&) const = default;
};

} // namespace troupe::config
