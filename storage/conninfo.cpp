#include "storage/conninfo.hpp"

#include <libpq-fe.h>
#include <memory>
#include <regex>

#include "storage/errc.hpp"

namespace troupe::storage {

namespace {

struct options_deleter {
  void operator()(PQconninfoOption* p) const noexcept { PQconninfoFree(p); }
};
struct pq_string_deleter {
  void operator()(char* p) const noexcept { PQfreemem(p); }
};

std::string quote(std::string_view value) {
  std::string out{"'"};
  for (char c : value) {
    if (c == '\'' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

/// A password as it is written in a URL that libpq could not parse, so that
/// even its parse error cannot echo it.
std::string password_as_written(const std::string& url) {
  static const std::regex uri{R"(^[a-zA-Z]+://[^:@/]*:([^@/]*)@)"};
  static const std::regex kv{R"(password\s*=\s*('(?:[^'\\]|\\.)*'|\S+))"};
  std::smatch m;
  if (std::regex_search(url, m, uri))
    return m[1].str();
  if (std::regex_search(url, m, kv))
    return m[1].str();
  return {};
}

} // namespace

std::string redact(std::string message, std::string_view secret) {
  if (secret.empty())
    return message;
  for (auto pos = message.find(secret); pos != std::string::npos;
       pos = message.find(secret, pos + 3))
    message.replace(pos, secret.size(), "***");
  return message;
}

std::string one_line(std::string_view message) {
  std::string out;
  bool space = false;
  for (char c : message) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  for (std::string_view prefix : {"ERROR: ", "FATAL: "})
    if (out.rfind(prefix, 0) == 0)
      out.erase(0, prefix.size());
  return out;
}

caf::expected<conninfo> parse_conninfo(const std::string& url,
                                       std::chrono::seconds connect_timeout) {
  if (url.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(errc::invalid_url, "the database URL is empty");
  char* raw_err = nullptr;
  std::unique_ptr<PQconninfoOption, options_deleter> opts{PQconninfoParse(url.c_str(), &raw_err)};
  std::unique_ptr<char, pq_string_deleter> err{raw_err};
  if (!opts) {
    auto why = err ? one_line(err.get()) : std::string{"out of memory"};
    why = redact(std::move(why), password_as_written(url));
    return make_error(errc::invalid_url, "invalid PostgreSQL URL: " + why);
  }
  conninfo out;
  std::string host, hostaddr, port, dbname, user, url_timeout;
  for (auto* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr)
      continue;
    std::string_view key{o->keyword};
    std::string val{o->val};
    if (key == "connect_timeout") {
      url_timeout = val;
      continue;
    }
    if (key == "host")
      host = val;
    else if (key == "hostaddr")
      hostaddr = val;
    else if (key == "port")
      port = val;
    else if (key == "dbname")
      dbname = val;
    else if (key == "user")
      user = val;
    else if (key == "password")
      out.password = val;
    out.text += std::string{key} + "=" + quote(val) + " ";
  }
  std::string timeout;
  if (connect_timeout.count() > 0)
    timeout = std::to_string(connect_timeout.count());
  else if (!url_timeout.empty())
    timeout = url_timeout;
  else
    timeout = std::to_string(default_connect_timeout.count());
  out.text += "connect_timeout=" + quote(timeout);
  std::string where = !host.empty() ? host : !hostaddr.empty() ? hostaddr : "local socket";
  out.endpoint = where + ":" + (port.empty() ? std::string{"5432"} : port) + "/"
                 + (dbname.empty() ? (user.empty() ? std::string{"(default)"} : user) : dbname);
  return out;
}

} // namespace troupe::storage
