#include "bus/subjects.hpp"

#include <initializer_list>

#include "bus/errc.hpp"

namespace troupe::bus {

namespace {

bool token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
         || c == '-';
}

/// Splits on '.' and checks each token; `wildcards` admits `*` anywhere and
/// `>` as the final token.
bool check_subject(std::string_view subject, bool wildcards) noexcept {
  if (subject.empty())
    return false;
  size_t start = 0;
  for (;;) {
    auto dot = subject.find('.', start);
    auto last = dot == std::string_view::npos;
    auto token = subject.substr(start, last ? std::string_view::npos : dot - start);
    bool ok = valid_token(token) || (wildcards && (token == "*" || (token == ">" && last)));
    if (!ok)
      return false;
    if (last)
      return true;
    start = dot + 1;
  }
}

/// A builder argument: a valid token, or a subscription wildcard
/// (`>` only where it is the last token).
bool builder_token(std::string_view token, bool last) noexcept {
  return valid_token(token) || token == "*" || (last && token == ">");
}

caf::expected<std::string> build(const std::string& cluster, std::string_view kind,
                                  std::initializer_list<std::string_view> tokens) {
  if (!valid_token(cluster))
    return make_error(errc::invalid_subject, "invalid cluster name '" + cluster + "'");
  std::string out = "troupe.";
  out += cluster;
  out += '.';
  out += kind;
  size_t i = 0;
  for (auto t : tokens) {
    if (!builder_token(t, ++i == tokens.size()))
      return make_error(errc::invalid_subject,
                        "invalid subject token '" + std::string{t} + "' for troupe." + cluster
                          + "." + std::string{kind});
    out += '.';
    out += t;
  }
  return out;
}

} // namespace

bool valid_token(std::string_view token) noexcept {
  if (token.empty())
    return false;
  for (char c : token)
    if (!token_char(c))
      return false;
  return true;
}

bool valid_publish_subject(std::string_view subject) noexcept {
  return check_subject(subject, false);
}

bool valid_subscribe_subject(std::string_view subject) noexcept {
  return check_subject(subject, true);
}

subjects::subjects(std::string cluster) : cluster_(std::move(cluster)) {}

caf::expected<std::string> subjects::svc(std::string_view kind) const {
  return build(cluster_, "svc", {kind});
}

caf::expected<std::string> subjects::broadcast(std::string_view kind,
                                               std::string_view verb) const {
  return build(cluster_, "all", {kind, verb});
}

caf::expected<std::string> subjects::direct(std::string_view node, std::string_view kind,
                                            std::string_view id) const {
  return build(cluster_, "node", {node, kind, id});
}

caf::expected<std::string> subjects::node_svc(std::string_view node, std::string_view kind) const {
  return build(cluster_, "node", {node, "svc", kind});
}

caf::expected<std::string> subjects::heartbeat(std::string_view node) const {
  return build(cluster_, "heartbeat", {node});
}

caf::expected<std::string> subjects::ctl(std::string_view node) const {
  return build(cluster_, "ctl", {node});
}

caf::expected<std::string> subjects::events(std::string_view tenant, std::string_view session,
                                            std::string_view turn, std::string_view type) const {
  return build(cluster_, "events", {tenant, session, turn, type});
}

std::string subjects::all_events() const {
  return "troupe." + cluster_ + ".events.>";
}

caf::expected<std::string> subjects::node_prefix(std::string_view node) const {
  auto node_subject = build(cluster_, "node", {node});
  if (!node_subject)
    return node_subject.error();
  return *node_subject + ".";
}

} // namespace troupe::bus
