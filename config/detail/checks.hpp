#pragma once
/// Checks on a single value, the same whether it came from a file or a
/// variable. Each returns the code and message of what is wrong, or nothing.
#include <optional>
#include <string>
#include <string_view>

namespace troupe::config::detail {

struct issue {
  std::string_view code;
  std::string message;
};

/// A NATS subject token: [A-Za-z0-9_-]+, at most 64 characters (E009).
std::optional<issue> check_identifier(std::string_view key, std::string_view value);

/// nats://host[:port] or tls://host[:port], credentials allowed (E005).
std::optional<issue> check_nats_url(std::string_view key, std::string_view value);

/// A host name or IP address (IPv6 without brackets) to listen on: E005, as
/// the host part of a URL; empty is E006.
std::optional<issue> check_host(std::string_view key, std::string_view value);

/// postgresql:// or postgres://, and libpq must parse it: the check agrees
/// with what storage will hand libpq (E005).
std::optional<issue> check_database_url(std::string_view value);

/// A level spdlog knows, the same rule troupe::log::configure applies (E012).
std::optional<issue> check_log_level(std::string_view value);

/// No control characters and at most `max_bytes` (E016).
std::optional<issue> check_text(std::string_view key, std::string_view value, size_t max_bytes);

/// A regular, readable file (E014); an HMAC key also holds at least 32 bytes.
/// `key` names the setting in the message.
std::optional<issue> check_key_file(std::string_view key, const std::string& path, bool hmac_key);

/// `value` quoted for a message: control characters escaped, long values
/// shortened, so a hostile value cannot garble a terminal or a log line.
std::string printable(std::string_view value);

/// `url` with the password of its user info replaced by "***".
std::string redact_url(std::string_view url);

} // namespace troupe::config::detail
