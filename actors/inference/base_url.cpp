#include "actors/inference/base_url.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include "actors/inference/errc.hpp"

namespace troupe::inference {

namespace {

struct url_free {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

/// The part `what` of `u`, or nullopt when the URL has none.
std::optional<std::string> part(CURLU* u, CURLUPart what) {
  char* out = nullptr;
  if (curl_url_get(u, what, &out, 0) != CURLUE_OK || out == nullptr)
    return std::nullopt;
  std::string s{out};
  curl_free(out);
  return s;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "localhost.")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  return false;
}

caf::error refuse(const std::string& why) {
  return make_error(errc::invalid_request, "base URL " + why);
}

} // namespace

caf::expected<base_url> parse_base_url(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    return refuse("holds a NUL byte");
  std::unique_ptr<CURLU, url_free> u{curl_url()};
  if (!u)
    return refuse("cannot be parsed: out of memory");
  if (auto rc = curl_url_set(u.get(), CURLUPART_URL, std::string{text}.c_str(), 0);
      rc != CURLUE_OK)
    return refuse(std::string{"is not an absolute URL: "} + curl_url_strerror(rc));
  auto scheme = part(u.get(), CURLUPART_SCHEME).value_or("");
  if (scheme != "http" && scheme != "https")
    return refuse("must use http or https, not '" + scheme + "'");
  if (part(u.get(), CURLUPART_USER) || part(u.get(), CURLUPART_PASSWORD))
    return refuse("must not carry credentials: store the key with --api-key-file, "
                  "--api-key-env or --api-key-stdin");
  if (part(u.get(), CURLUPART_QUERY) || part(u.get(), CURLUPART_FRAGMENT))
    return refuse("must not carry a query or fragment");
  auto host = part(u.get(), CURLUPART_HOST).value_or("");
  if (host.empty())
    return refuse("has no host");
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  base_url out;
  out.url = part(u.get(), CURLUPART_URL).value_or("");
  while (!out.url.empty() && out.url.back() == '/')
    out.url.pop_back();
  out.loopback = is_loopback(host);
  out.host = std::move(host);
  return out;
}

} // namespace troupe::inference
