#pragma once
/// A provider's base URL, checked once where it enters (the CLI) and read
/// again where it matters (is the provider on this machine?). libcurl's URL
/// parser does the parsing.
#include <caf/expected.hpp>
#include <string>
#include <string_view>

namespace troupe::inference {

struct base_url {
  std::string url;  // normalised by libcurl, without a trailing '/'
  std::string host; // lowercase, IPv6 without brackets
  bool loopback = false; // localhost, 127.0.0.0/8 or ::1: the key never leaves the machine
};

/// `text` as an absolute http(s) URL with a host and no user, password,
/// query or fragment. errc::invalid_request otherwise; the message never
/// repeats the URL, which might carry a password.
[[nodiscard]] caf::expected<base_url> parse_base_url(std::string_view text);

} // namespace troupe::inference
