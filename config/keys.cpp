#include "config/keys.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace troupe::config {

namespace {

/// A function pointer to `cfg.*Section.*Member`, so a table row names its
/// member once and the compiler checks the type.
template <auto Section, auto Member> auto& at(node_config& cfg) {
  return (cfg.*Section).*Member;
}

constexpr std::int64_t kib = 1024;
constexpr std::int64_t mib = 1024 * kib;

using nc = node_config;

const std::vector<key_spec>& table() {
  static const std::vector<key_spec> keys{
      {.section = "node",
       .name = "id",
       .field = &at<&nc::node, &node_settings::id>,
       .rule = value_rule::identifier,
       .empty_means_default = true},
      {.section = "node",
       .name = "cluster",
       .field = &at<&nc::node, &node_settings::cluster>,
       .rule = value_rule::identifier},
      {.section = "node", .name = "roles", .field = &at<&nc::node, &node_settings::roles>},
      {.section = "node",
       .name = "heartbeat_interval_ms",
       .field = &at<&nc::node, &node_settings::heartbeat_interval>,
       .min = 50,
       .max = 60'000},
      {.section = "node",
       .name = "shutdown_timeout_s",
       .field = &at<&nc::node, &node_settings::shutdown_timeout>,
       .min = 1,
       .max = 3'600},

      {.section = "nats",
       .name = "urls",
       .field = &at<&nc::nats, &nats_settings::urls>,
       .rule = value_rule::nats_url},
      {.section = "nats",
       .name = "connect_timeout_ms",
       .field = &at<&nc::nats, &nats_settings::connect_timeout>,
       .min = 10,
       .max = 600'000},
      {.section = "nats",
       .name = "reconnect_wait_ms",
       .field = &at<&nc::nats, &nats_settings::reconnect_wait>,
       .min = 1,
       .max = 600'000},
      {.section = "nats",
       .name = "max_reconnect",
       .field = &at<&nc::nats, &nats_settings::max_reconnect>,
       .min = -1,
       .max = 1'000'000},
      {.section = "nats",
       .name = "reconnect_buffer_bytes",
       .field = &at<&nc::nats, &nats_settings::reconnect_buffer_bytes>,
       .min = 64 * kib,
       .max = 1024 * mib},
      {.section = "nats", .name = "send_asap", .field = &at<&nc::nats, &nats_settings::send_asap>},

      {.section = "database",
       .name = "url",
       .field = &at<&nc::database, &database_settings::url>,
       .rule = value_rule::database_url},
      {.section = "database",
       .name = "connect_timeout_s",
       .field = &at<&nc::database, &database_settings::connect_timeout>,
       .min = 1,
       .max = 600},
      {.section = "database",
       .name = "migrate_on_start",
       .field = &at<&nc::database, &database_settings::migrate_on_start>},

      {.section = "admin",
       .name = "host",
       .field = &at<&nc::admin, &admin_settings::host>,
       .rule = value_rule::host},
      {.section = "admin",
       .name = "port",
       .field = &at<&nc::admin, &admin_settings::port>,
       .min = 1,
       .max = 65'535},

      {.section = "bus",
       .name = "max_envelope_bytes",
       .field = &at<&nc::bus, &bus_settings::max_envelope_bytes>,
       .min = kib,
       .max = 64 * mib},
      {.section = "bus",
       .name = "request_timeout_ms",
       .field = &at<&nc::bus, &bus_settings::request_timeout>,
       .min = 1,
       .max = 3'600'000},
      {.section = "bus",
       .name = "require_principal",
       .field = &at<&nc::bus, &bus_settings::require_principal>},
      {.section = "bus",
       .name = "principal_key_file",
       .field = &at<&nc::bus, &bus_settings::principal_key_file>,
       .rule = value_rule::key_file,
       .empty_means_default = true},
      {.section = "bus",
       .name = "principal_key_id",
       .field = &at<&nc::bus, &bus_settings::principal_key_id>,
       .rule = value_rule::identifier},

      {.section = "gateway",
       .name = "host",
       .field = &at<&nc::gateway, &gateway_settings::host>,
       .rule = value_rule::host},
      {.section = "gateway",
       .name = "port",
       .field = &at<&nc::gateway, &gateway_settings::port>,
       .min = 0,
       .max = 65'535},
      {.section = "gateway",
       .name = "io_threads",
       .field = &at<&nc::gateway, &gateway_settings::io_threads>,
       .min = 1,
       .max = 64},
      {.section = "gateway",
       .name = "max_body_bytes",
       .field = &at<&nc::gateway, &gateway_settings::max_body_bytes>,
       .min = kib,
       .max = 64 * mib},
      {.section = "gateway",
       .name = "max_header_bytes",
       .field = &at<&nc::gateway, &gateway_settings::max_header_bytes>,
       .min = kib,
       .max = mib},
      {.section = "gateway",
       .name = "max_connections",
       .field = &at<&nc::gateway, &gateway_settings::max_connections>,
       .min = 1,
       .max = 1'000'000},
      {.section = "gateway",
       .name = "read_timeout_ms",
       .field = &at<&nc::gateway, &gateway_settings::read_timeout>,
       .min = 100,
       .max = 600'000},
      {.section = "gateway",
       .name = "idle_timeout_s",
       .field = &at<&nc::gateway, &gateway_settings::idle_timeout>,
       .min = 1,
       .max = 86'400},
      {.section = "gateway",
       .name = "turn_timeout_s",
       .field = &at<&nc::gateway, &gateway_settings::turn_timeout>,
       .min = 1,
       .max = 3'600},
      {.section = "gateway",
       .name = "rate_limit_per_s",
       .field = &at<&nc::gateway, &gateway_settings::rate_limit_per_s>,
       .min = 0,
       .max = 1'000'000},
      {.section = "gateway",
       .name = "rate_limit_burst",
       .field = &at<&nc::gateway, &gateway_settings::rate_limit_burst>,
       .min = 1,
       .max = 1'000'000},

      {.section = "auth",
       .name = "mode",
       .field = &at<&nc::auth, &auth_settings::mode>},
      {.section = "auth",
       .name = "dev_tenant",
       .field = &at<&nc::auth, &auth_settings::dev_tenant>,
       .rule = value_rule::identifier},
      {.section = "auth",
       .name = "dev_user",
       .field = &at<&nc::auth, &auth_settings::dev_user>,
       .rule = value_rule::identifier},
      {.section = "auth",
       .name = "jwt_hs256_secret_file",
       .field = &at<&nc::auth, &auth_settings::jwt_hs256_secret_file>,
       .rule = value_rule::key_file,
       .empty_means_default = true},
      {.section = "auth",
       .name = "jwt_ed25519_public_key_file",
       .field = &at<&nc::auth, &auth_settings::jwt_ed25519_public_key_file>,
       .rule = value_rule::readable_file,
       .empty_means_default = true},
      {.section = "auth",
       .name = "jwt_issuer",
       .field = &at<&nc::auth, &auth_settings::jwt_issuer>,
       .rule = value_rule::text},
      {.section = "auth",
       .name = "jwt_audience",
       .field = &at<&nc::auth, &auth_settings::jwt_audience>,
       .rule = value_rule::text},
      {.section = "auth",
       .name = "jwt_leeway_s",
       .field = &at<&nc::auth, &auth_settings::jwt_leeway>,
       .min = 0,
       .max = 3'600},
      {.section = "auth",
       .name = "jwt_tenant_claim",
       .field = &at<&nc::auth, &auth_settings::jwt_tenant_claim>,
       .rule = value_rule::text},
      {.section = "auth",
       .name = "tenant",
       .field = &at<&nc::auth, &auth_settings::tenant>,
       .rule = value_rule::identifier,
       .empty_means_default = true},
      {.section = "auth",
       .name = "api_key_cache_ttl_s",
       .field = &at<&nc::auth, &auth_settings::api_key_cache_ttl>,
       .min = 0,
       .max = 3'600},

      {.section = "inference",
       .name = "master_key_file",
       .field = &at<&nc::inference, &inference_settings::master_key_file>,
       .rule = value_rule::path,
       .empty_means_default = true},
      {.section = "inference",
       .name = "connect_timeout_ms",
       .field = &at<&nc::inference, &inference_settings::connect_timeout>,
       .min = 10,
       .max = 600'000},
      {.section = "inference",
       .name = "request_timeout_s",
       .field = &at<&nc::inference, &inference_settings::request_timeout>,
       .min = 1,
       .max = 3'600},
      {.section = "inference",
       .name = "max_retries",
       .field = &at<&nc::inference, &inference_settings::max_retries>,
       .min = 0,
       .max = 20},
      {.section = "inference",
       .name = "retry_backoff_ms",
       .field = &at<&nc::inference, &inference_settings::retry_backoff>,
       .min = 1,
       .max = 600'000},
      {.section = "inference",
       .name = "registry_refresh_s",
       .field = &at<&nc::inference, &inference_settings::registry_refresh>,
       .min = 1,
       .max = 86'400},
      {.section = "inference",
       .name = "provider_threads",
       .field = &at<&nc::inference, &inference_settings::provider_threads>,
       .min = 1,
       .max = 64},

      {.section = "session",
       .name = "idle_timeout_s",
       .field = &at<&nc::session, &session_settings::idle_timeout>,
       .min = 1,
       .max = 604'800},
      {.section = "session",
       .name = "max_history_messages",
       .field = &at<&nc::session, &session_settings::max_history_messages>,
       .min = 1,
       .max = 100'000},
      {.section = "session",
       .name = "max_queued_turns",
       .field = &at<&nc::session, &session_settings::max_queued_turns>,
       .min = 0,
       .max = 10'000},
      {.section = "session",
       .name = "max_model_calls",
       .field = &at<&nc::session, &session_settings::max_model_calls>,
       .min = 1,
       .max = 1'000},

      {.section = "events",
       .name = "max_age_hours",
       .field = &at<&nc::events, &events_settings::max_age>,
       .min = 0,
       .max = 87'600},
      {.section = "events",
       .name = "max_bytes",
       .field = &at<&nc::events, &events_settings::max_bytes>,
       .min = 1,
       .max = std::int64_t{1} << 50,
       .rule = value_rule::no_limit},
      {.section = "events",
       .name = "replicas",
       .field = &at<&nc::events, &events_settings::replicas>,
       .min = 1,
       .max = 5},
      {.section = "events",
       .name = "duplicate_window_s",
       .field = &at<&nc::events, &events_settings::duplicate_window>,
       .min = 1,
       .max = 86'400},
      {.section = "events",
       .name = "ack_timeout_ms",
       .field = &at<&nc::events, &events_settings::ack_timeout>,
       .min = 10,
       .max = 600'000},

      {.section = "supervision",
       .name = "max_restarts",
       .field = &at<&nc::supervision, &supervision_settings::max_restarts>,
       .min = 0,
       .max = 1'000'000},
      {.section = "supervision",
       .name = "window_s",
       .field = &at<&nc::supervision, &supervision_settings::window>,
       .min = 1,
       .max = 86'400},
      {.section = "supervision",
       .name = "backoff_initial_ms",
       .field = &at<&nc::supervision, &supervision_settings::backoff_initial>,
       .min = 1,
       .max = 3'600'000},
      {.section = "supervision",
       .name = "backoff_max_ms",
       .field = &at<&nc::supervision, &supervision_settings::backoff_max>,
       .min = 1,
       .max = 3'600'000},

      {.section = "log",
       .name = "level",
       .field = &at<&nc::log, &log_settings::level>,
       .rule = value_rule::log_level},
      {.section = "log", .name = "format", .field = &at<&nc::log, &log_settings::format>},
  };
  return keys;
}

std::string upper(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

} // namespace

std::span<const key_spec> known_keys() {
  return table();
}

std::span<const std::string_view> known_sections() {
  static const std::vector<std::string_view> sections = [] {
    std::vector<std::string_view> out;
    for (const auto& k : table())
      if (std::find(out.begin(), out.end(), k.section) == out.end())
        out.push_back(k.section);
    return out;
  }();
  return sections;
}

const key_spec* find_key(std::string_view section, std::string_view name) noexcept {
  for (const auto& k : table())
    if (k.section == section && k.name == name)
      return &k;
  return nullptr;
}

std::string qualified_name(const key_spec& key) {
  std::string out{key.section};
  out += '.';
  out += key.name;
  return out;
}

std::string env_name(const key_spec& key) {
  return "TROUPE_" + upper(key.section) + "_" + upper(key.name);
}

std::span<const env_alias> env_aliases() noexcept {
  static constexpr std::array<env_alias, 1> aliases{{{"TROUPE_NATS_URL", "nats", "urls"}}};
  return aliases;
}

} // namespace troupe::config
