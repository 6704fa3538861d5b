#pragma once
#include <string>

namespace troupe::test {

struct http_response {
  long status = 0; // 0: no answer (connection refused, timeout)
  std::string body;
  std::string content_type;
};

/// A blocking HTTP GET through libcurl (a real third-party client), 2 s timeout.
http_response http_get(const std::string& url);

} // namespace troupe::test
