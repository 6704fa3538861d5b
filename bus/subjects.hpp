#pragma once
/// The subject scheme of the bus, in one place, so no component spells a
/// subject by hand:
///   troupe.<cluster>.svc.<kind>                                  queue-group services
///   troupe.<cluster>.node.<node>.svc.<kind>                      one node's instance of one
///   troupe.<cluster>.all.<kind>.<verb>                           every instance of a service
///   troupe.<cluster>.node.<node>.<kind>.<id>                     direct messages
///   troupe.<cluster>.heartbeat.<node>, troupe.<cluster>.ctl.<node> control plane
///   troupe.<cluster>.events.<tenant>.<session>.<turn>.<type>     turn events
///
/// Every token must satisfy `valid_token`, so a tenant or session id can never
/// smuggle a `.` (an extra level), a wildcard or a `$` (system subjects) into a
/// subject. The builders also accept a lone `*` token, and `>` as the last
/// token, so the same scheme yields subscription patterns
/// (`heartbeat("*")`); publishing such a pattern is refused by the bridge.
#include <caf/expected.hpp>
#include <string>
#include <string_view>

namespace troupe::bus {

/// True for a non-empty token of [A-Za-z0-9_-] only.
[[nodiscard]] bool valid_token(std::string_view token) noexcept;

/// True when every `.`-separated token is a `valid_token`: a subject a
/// publisher may use (no wildcards, no empty tokens, nothing `$`-prefixed).
[[nodiscard]] bool valid_publish_subject(std::string_view subject) noexcept;

/// Like `valid_publish_subject`, but a token may also be `*`, and the last
/// token may be `>`: a subject a subscriber may use.
[[nodiscard]] bool valid_subscribe_subject(std::string_view subject) noexcept;

class subjects {
public:
  explicit subjects(std::string cluster);

  const std::string& cluster() const noexcept { return cluster_; }

  [[nodiscard]] caf::expected<std::string> svc(std::string_view kind) const;
  /// What every instance of service `kind` hears (no queue group), e.g. a
  /// cancellation for whichever instance runs the work.
  [[nodiscard]] caf::expected<std::string> broadcast(std::string_view kind,
                                                     std::string_view verb) const;
  [[nodiscard]] caf::expected<std::string> direct(std::string_view node, std::string_view kind,
                                                  std::string_view id) const;
  /// The same service as `svc(kind)`, served by `node` alone: for a caller
  /// that chose the node (placement by load, a node it knows is alive).
  [[nodiscard]] caf::expected<std::string> node_svc(std::string_view node,
                                                    std::string_view kind) const;
  [[nodiscard]] caf::expected<std::string> heartbeat(std::string_view node) const;
  [[nodiscard]] caf::expected<std::string> ctl(std::string_view node) const;
  [[nodiscard]] caf::expected<std::string> events(std::string_view tenant,
                                                  std::string_view session, std::string_view turn,
                                                  std::string_view type) const;

  /// Every turn event of the cluster (what the events stream captures).
  [[nodiscard]] std::string all_events() const;
  /// "troupe.<c>.node.<node>.": what every direct address of `node` starts with.
  [[nodiscard]] caf::expected<std::string> node_prefix(std::string_view node) const;

private:
  std::string cluster_;
};

} // namespace troupe::bus
