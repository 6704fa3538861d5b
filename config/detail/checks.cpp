#include "config/detail/checks.hpp"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <spdlog/common.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>

#include "config/problem.hpp"

namespace troupe::config::detail {

namespace {

constexpr std::size_t min_key_bytes = 32;
constexpr std::size_t max_identifier = 64;
constexpr std::size_t max_shown = 96;

struct curlu_deleter {
  void operator()(CURLU* h) const noexcept { curl_url_cleanup(h); }
};
struct curl_string_deleter {
  void operator()(char* s) const noexcept { curl_free(s); }
};
struct conninfo_deleter {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};
struct pq_string_deleter {
  void operator()(char* s) const noexcept { PQfreemem(s); }
};

using curl_string = std::unique_ptr<char, curl_string_deleter>;

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes)
    if (s.starts_with(p))
      return true;
  return false;
}

/// A URL part, or nothing when the URL has none (CURLUE_NO_*).
std::optional<std::string> url_part(CURLU* h, CURLUPart part) {
  char* raw = nullptr;
  if (curl_url_get(h, part, &raw, 0) != CURLUE_OK)
    return std::nullopt;
  curl_string owned{raw};
  return std::string{owned.get()};
}

/// libpq messages end in a newline and may span lines; a problem is one line.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

} // namespace

std::string printable(std::string_view value) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "'";
  std::size_t shown = 0;
  for (char ch : value) {
    if (++shown > max_shown) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else if (c == '\'' || c == '\\') {
      out += '\\';
      out += ch;
    } else {
      out += ch;
    }
  }
  out += "'";
  return out;
}

namespace {

/// The password part of a URL's user info ("user:pw@host"), or empty.
std::string_view url_password(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return {};
  auto start = scheme_end + 3;
  auto end = url.find_first_of("/?#", start);
  auto authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos)
    return {};
  auto colon = authority.find(':');
  if (colon == std::string_view::npos || colon > at)
    return {};
  return authority.substr(colon + 1, at - colon - 1);
}

} // namespace

std::string redact_url(std::string_view url) {
  auto pw = url_password(url);
  if (pw.empty())
    return std::string{url};
  auto offset = static_cast<std::size_t>(pw.data() - url.data());
  std::string out{url.substr(0, offset)};
  out += "***";
  out += url.substr(offset + pw.size());
  return out;
}

std::optional<issue> check_identifier(std::string_view key, std::string_view value) {
  std::string name{key};
  if (value.empty())
    return issue{codes::invalid_identifier, name + " must not be empty"};
  if (value.size() > max_identifier)
    return issue{codes::invalid_identifier,
                 name + " " + printable(value) + " is longer than 64 characters"};
  for (char c : value) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-';
    if (!ok)
      return issue{codes::invalid_identifier,
                   name + " " + printable(value)
                       + " is not a subject token (letters, digits, '_' and '-' only)"};
  }
  return std::nullopt;
}

std::optional<issue> check_nats_url(std::string_view key, std::string_view value) {
  auto shown = std::string{key} + " " + printable(redact_url(value));
  if (!starts_with_any(value, {"nats://", "tls://"}))
    return issue{codes::invalid_url,
                 shown + " is not a NATS URL (nats://host:port or tls://host:port)"};
  std::unique_ptr<CURLU, curlu_deleter> h{curl_url()};
  if (!h)
    return issue{codes::invalid_url, shown + " could not be checked (out of memory)"};
  std::string text{value};
  auto rc = curl_url_set(h.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (rc != CURLUE_OK)
    return issue{codes::invalid_url, shown + " is not a valid URL: " + curl_url_strerror(rc)};
  if (auto path = url_part(h.get(), CURLUPART_PATH); path && *path != "/" && !path->empty())
    return issue{codes::invalid_url, shown + " has a path; a NATS URL names only a server"};
  if (url_part(h.get(), CURLUPART_QUERY) || url_part(h.get(), CURLUPART_FRAGMENT))
    return issue{codes::invalid_url,
                 shown + " has a query or fragment; a NATS URL names only a server"};
  if (auto port = url_part(h.get(), CURLUPART_PORT); port && *port == "0")
    return issue{codes::invalid_url, shown + " has port 0"};
  return std::nullopt;
}

std::optional<issue> check_host(std::string_view key, std::string_view value) {
  std::string name{key};
  if (value.empty())
    return issue{codes::missing_value, name + " must not be empty"};
  auto bad = [&] {
    return issue{codes::invalid_url,
                 name + " " + printable(value) + " is not a host name or IP address"};
  };
  if (value.size() > 253 || value.find_first_of("/@?#[] ") != std::string_view::npos)
    return bad();
  // curl's URL parser validates the host part; an IPv6 address needs brackets there.
  bool ipv6 = value.find(':') != std::string_view::npos;
  std::string url = "x://" + (ipv6 ? "[" + std::string{value} + "]" : std::string{value}) + "/";
  std::unique_ptr<CURLU, curlu_deleter> h{curl_url()};
  if (!h
      || curl_url_set(h.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return bad();
  if (url_part(h.get(), CURLUPART_PORT))
    return bad();
  return std::nullopt;
}

std::optional<issue> check_database_url(std::string_view value) {
  auto shown = printable(redact_url(value));
  if (!starts_with_any(value, {"postgresql://", "postgres://"}))
    return issue{codes::invalid_url,
                 "database.url " + shown + " is not a PostgreSQL URL (postgresql://...)"};
  std::string text{value};
  char* raw_err = nullptr;
  std::unique_ptr<PQconninfoOption, conninfo_deleter> opts{PQconninfoParse(text.c_str(), &raw_err)};
  std::unique_ptr<char, pq_string_deleter> err{raw_err};
  if (!opts) {
    std::string why = err ? one_line(err.get()) : std::string{"out of memory"};
    // libpq quotes the offending part, which can be the password.
    if (auto pw = url_password(value); !pw.empty())
      for (auto pos = why.find(pw); pos != std::string::npos; pos = why.find(pw, pos + 3))
        why.replace(pos, pw.size(), "***");
    return issue{codes::invalid_url, "database.url " + shown + " does not parse: " + why};
  }
  return std::nullopt;
}

std::optional<issue> check_log_level(std::string_view value) {
  std::string text{value};
  auto lvl = spdlog::level::from_str(text);
  if (lvl == spdlog::level::off && text != "off")
    return issue{codes::invalid_log_setting,
                 "log.level " + printable(value)
                     + " is not a level (trace, debug, info, warn, error, critical, off)"};
  return std::nullopt;
}

std::optional<issue> check_text(std::string_view key, std::string_view value, size_t max_bytes) {
  if (value.size() > max_bytes)
    return issue{codes::invalid_text, std::string{key} + " is longer than "
                                          + std::to_string(max_bytes) + " bytes"};
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f)
      return issue{codes::invalid_text,
                   std::string{key} + " " + printable(value) + " holds control characters"};
  return std::nullopt;
}

std::optional<issue> check_key_file(std::string_view key, const std::string& path,
                                    bool hmac_key) {
  namespace fs = std::filesystem;
  std::string name = std::string{key} + " " + printable(path);
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    return issue{codes::bad_key_file,
                 name + " cannot be read: " + (ec ? ec.message() : std::string{"no such file"})};
  if (!fs::is_regular_file(st))
    return issue{codes::bad_key_file, name + " is not a regular file"};
  auto size = fs::file_size(path, ec);
  if (ec)
    return issue{codes::bad_key_file, name + " cannot be read: " + ec.message()};
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return issue{codes::bad_key_file,
                 name + " cannot be opened: " + std::generic_category().message(errno)};
  if (hmac_key && size < min_key_bytes)
    return issue{codes::bad_key_file,
                 name + " holds " + std::to_string(size) + " bytes; an HMAC key needs at least 32"};
  return std::nullopt;
}

} // namespace troupe::config::detail
