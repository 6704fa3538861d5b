#include "actors/gateway/http/routes.hpp"

#include <array>
#include <charconv>

namespace troupe::gateway::http {

namespace {

using enum error_style;

constexpr std::string_view get_head = "GET, HEAD";

const std::array<route, 8> table{{
    {"/v1/chat", false, "POST", native, nullptr, post_chat},
    {"/v1/chat/stream", false, "POST", native, nullptr, post_chat_stream},
    {"/v1/chat/completions", false, "POST", openai, nullptr, post_chat_completions},
    {"/v1/models", false, get_head, openai, get_models},
    {"/v1/models/{id}", true, get_head, openai, get_model},
    {"/v1/sessions", false, get_head, native, get_sessions},
    {"/v1/sessions/{id}", false, "GET, HEAD, DELETE", native, get_session, nullptr, delete_session},
    {"/v1/sessions/{id}/messages", false, get_head, native, get_messages},
}};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

/// `%XX` and, in queries, `+` decoded; a malformed escape stays as it is.
std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char byte = 0;
    if (in[i] == '%' && i + 2 < in.size()
        && std::from_chars(in.data() + i + 1, in.data() + i + 3, byte, 16).ptr
               == in.data() + i + 3) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(plus_is_space && in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

/// Matches `path` against `r.pattern`; the {id} part into `id`.
bool matches(const route& r, std::string_view path, std::string& id) {
  auto open = r.pattern.find('{');
  if (open == std::string_view::npos)
    return path == r.pattern;
  auto prefix = r.pattern.substr(0, open);
  auto suffix = r.pattern.substr(r.pattern.find('}') + 1);
  if (path.size() <= prefix.size() + suffix.size() || !path.starts_with(prefix)
      || !path.ends_with(suffix))
    return false;
  auto raw = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (!r.id_spans_slashes && raw.find('/') != std::string_view::npos)
    return false;
  id = percent_decode(raw, false);
  return true;
}

} // namespace

handler route::for_method(bhttp::verb method) const noexcept {
  switch (method) {
  case bhttp::verb::get:
  case bhttp::verb::head:
    return get;
  case bhttp::verb::post:
    return post;
  case bhttp::verb::delete_:
    return del;
  default:
    return nullptr;
  }
}

route_match match_route(std::string_view target) {
  auto path = path_of(target);
  route_match m;
  for (const auto& r : table)
    if (matches(r, path, m.id)) {
      m.r = &r;
      return m;
    }
  return {};
}

error_style style_for(std::string_view target) {
  auto m = match_route(target);
  return m.r != nullptr ? m.r->style : error_style::native;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos)
    return std::nullopt;
  auto query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq), true) != name)
      continue;
    return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1), true);
  }
  return std::nullopt;
}

} // namespace troupe::gateway::http
