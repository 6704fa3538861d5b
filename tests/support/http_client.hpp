#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace troupe::test {

struct http_response {
  long status = 0; // 0: no answer (connection refused, timeout)
  std::string body;
  std::string content_type;
  std::string headers; // the final response's header lines, as received

  /// The value of header `name` (case-insensitive), empty when absent.
  std::string header(std::string_view name) const;
};

struct http_request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  std::string body;                 // sent when not empty
  long timeout_ms = 2000;
};

/// A blocking HTTP request through libcurl (a real third-party client); the
/// body is read to the end, so a streamed answer comes back whole.
http_response http_send(const http_request& req);

/// A blocking HTTP GET through libcurl, 2 s timeout.
http_response http_get(const std::string& url);

} // namespace troupe::test
