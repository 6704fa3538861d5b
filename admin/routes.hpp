#pragma once
/// The admin endpoints as a table of path -> handler, apart from the HTTP
/// plumbing: adding an endpoint (e.g. the console's) is one more entry, and
/// the request counter's path label stays bounded by this table.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_body.hpp"
#include "admin/admin_server.hpp"

namespace troupe::admin {

constexpr std::string_view json_type = "application/json";
constexpr std::string_view metrics_type = "text/plain; version=0.0.4; charset=utf-8";

/// What a handler answers; the server adds status line, headers and framing.
struct reply {
  unsigned status = 200;
  std::string_view content_type = json_type;
  std::string body;
};

/// One GET/HEAD endpoint. A handler may throw: the server answers 500.
struct route {
  std::string path;
  std::function<reply()> handle;
};

/// /livez, /ready, /health and /metrics over the node's hooks.
std::vector<route> probe_routes(const hooks& h);

} // namespace troupe::admin
