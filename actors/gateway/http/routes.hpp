#pragma once
/// The gateway's routes as a table: pattern, methods, error shape and
/// handlers. The pattern is also the metrics label, so the label set stays
/// bounded by this table.
#include <optional>
#include <string>
#include <string_view>

#include "actors/gateway/http/beast.hpp"
#include "actors/gateway/http/http_error.hpp"

namespace troupe::gateway::http {

class exchange;
using handler = net::awaitable<void> (*)(exchange&);

struct route {
  std::string_view pattern; // "/v1/sessions/{id}"; {id} is one path segment...
  bool id_spans_slashes;    // ...or, for model ids like "openai/gpt-4o", the rest of the path
  std::string_view allow;   // the Allow header of a 405
  error_style style;
  handler get = nullptr; // also serves HEAD
  handler post = nullptr;
  handler del = nullptr;

  /// The handler for `method`; null when the route does not serve it.
  handler for_method(bhttp::verb method) const noexcept;
};

struct route_match {
  const route* r = nullptr; // null: no route has this path
  std::string id;           // the {id} segment(s), percent-decoded
};

/// The route for the path of `target` (the query is ignored).
route_match match_route(std::string_view target);

/// The error shape for `target`: OpenAI's on the OpenAI-compatible routes.
error_style style_for(std::string_view target);

/// The percent-decoded value of `name` in the query of `target`; nullopt
/// when absent (an empty value is "").
std::optional<std::string> query_param(std::string_view target, std::string_view name);

// The handlers, one file per family.
net::awaitable<void> post_chat(exchange& x);
net::awaitable<void> post_chat_stream(exchange& x);
net::awaitable<void> post_chat_completions(exchange& x);
net::awaitable<void> get_models(exchange& x);
net::awaitable<void> get_model(exchange& x);
net::awaitable<void> get_sessions(exchange& x);
net::awaitable<void> get_session(exchange& x);
net::awaitable<void> delete_session(exchange& x);
net::awaitable<void> get_messages(exchange& x);

} // namespace troupe::gateway::http
