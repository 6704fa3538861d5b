#pragma once
/// Turning an operator's database URL into what libpq is handed, and keeping
/// the password out of everything a human reads.
///
/// Both libpq forms are accepted: `postgresql://user:pw@host:port/db?...` and
/// `host=... port=... dbname=...`. libpq parses them (PQconninfoParse), so the
/// rules are exactly libpq's.
#include <caf/expected.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace troupe::storage {

/// What a URL without `connect_timeout` gets when the caller names none: long
/// enough for a slow network, short enough that a node fails visibly.
constexpr std::chrono::seconds default_connect_timeout{10};

struct conninfo {
  /// key='value' pairs for libpq. Holds the password: never log it.
  std::string text;
  /// "host:port/dbname", for log lines and error messages.
  std::string endpoint;
  /// The password, if any, only so that it can be scrubbed from messages.
  std::string password;
};

/// Parses `url` and sets libpq's `connect_timeout` to `connect_timeout`
/// (libpq waits at least 2 s). A non-positive `connect_timeout` keeps the
/// URL's own value, or default_connect_timeout when it has none.
/// errc::invalid_url when it does not parse; the message never holds the password.
[[nodiscard]] caf::expected<conninfo> parse_conninfo(const std::string& url,
                                                     std::chrono::seconds connect_timeout);

/// `message` with every occurrence of `secret` replaced by "***".
std::string redact(std::string message, std::string_view secret);

/// libpq messages span lines (hints, "LINE 1:" carets): one line, whitespace
/// collapsed, the "ERROR:"/"FATAL:" prefix dropped.
std::string one_line(std::string_view message);

} // namespace troupe::storage
