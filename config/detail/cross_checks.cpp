#include "config/detail/cross_checks.hpp"

#include <tuple>

#include "config/detail/checks.hpp"
#include "config/problem.hpp"

namespace troupe::config::detail {

namespace {

class consistency {
public:
  consistency(load_state& state, const position& whole) : state_(state), whole_(whole) {}

  void run() {
    const auto& c = state_.config;
    if (c.database.url.empty())
      missing({"database", "url"}, {},
              "database.url is required (set [database] url or TROUPE_DATABASE_URL)");
    if (c.node.roles.empty())
      missing({"node", "roles"}, {}, "node.roles is empty; a node needs at least one role");
    if (c.nats.urls.empty())
      missing({"nats", "urls"}, {}, "nats.urls is empty; a node needs at least one NATS server");
    if (c.bus.require_principal && c.bus.principal_key_file.empty())
      missing({"bus", "require_principal"}, {"bus", "principal_key_file"},
              "bus.require_principal = true needs bus.principal_key_file");
    if (c.auth.mode != "required" && c.auth.mode != "dev" && !rejected({"auth", "mode"})) {
      const auto* at = origin_of({"auth", "mode"});
      state_.problems.add(codes::invalid_choice,
                          "auth.mode " + printable(c.auth.mode) + " is neither \"required\" nor \"dev\"",
                          at ? *at : whole_);
    }
    if (c.auth.jwt_tenant_claim.empty())
      missing({"auth", "jwt_tenant_claim"}, {},
              "auth.jwt_tenant_claim is empty; name the JWT claim that holds the tenant");
    if (c.auth.mode == "dev" && !c.auth.tenant.empty() && c.auth.tenant != c.auth.dev_tenant)
      tenant_pin_conflict();
    if (c.gateway.port != 0 && c.gateway.port == c.admin.port && c.gateway.host == c.admin.host)
      inconsistent({"gateway", "port"}, {"admin", "port"},
                   "gateway.port and admin.port are both " + std::to_string(c.admin.port)
                       + " on " + c.admin.host);
    if (c.supervision.backoff_initial > c.supervision.backoff_max)
      inconsistent({"supervision", "backoff_initial_ms"}, {"supervision", "backoff_max_ms"},
                   "supervision.backoff_initial_ms ("
                       + std::to_string(c.supervision.backoff_initial.count())
                       + ") is greater than supervision.backoff_max_ms ("
                       + std::to_string(c.supervision.backoff_max.count()) + ")");
    if (c.nats.reconnect_buffer_bytes < c.bus.max_envelope_bytes)
      inconsistent({"nats", "reconnect_buffer_bytes"}, {"bus", "max_envelope_bytes"},
                   "nats.reconnect_buffer_bytes (" + std::to_string(c.nats.reconnect_buffer_bytes)
                       + ") cannot hold one envelope of bus.max_envelope_bytes ("
                       + std::to_string(c.bus.max_envelope_bytes) + ") while reconnecting");
    // JetStream refuses a stream that remembers ids longer than it keeps messages.
    if (c.events.max_age.count() > 0 && c.events.duplicate_window > c.events.max_age)
      inconsistent({"events", "duplicate_window_s"}, {"events", "max_age_hours"},
                   "events.duplicate_window_s (" + std::to_string(c.events.duplicate_window.count())
                       + ") is longer than events.max_age_hours ("
                       + std::to_string(c.events.max_age.count()) + ")");
    // A retry after a timed-out attempt must still be recognised as a duplicate.
    if (c.events.ack_timeout >= c.events.duplicate_window)
      inconsistent({"events", "ack_timeout_ms"}, {"events", "duplicate_window_s"},
                   "events.ack_timeout_ms (" + std::to_string(c.events.ack_timeout.count())
                       + ") is not shorter than events.duplicate_window_s ("
                       + std::to_string(c.events.duplicate_window.count())
                       + "): a retry would fall outside the duplicate window");
  }

private:
  struct key_name {
    std::string_view section;
    std::string_view name;
  };

  const position* origin_of(key_name k) const {
    const auto* spec = find_key(k.section, k.name);
    auto it = spec ? state_.origins.find(spec) : state_.origins.end();
    return it == state_.origins.end() ? nullptr : &it->second;
  }

  /// The value that was set, not the default it contradicts; of two set
  /// values, the one read last (a variable over the file, a later line over an earlier one).
  const position& later(key_name a, key_name b) const {
    const auto* pa = origin_of(a);
    const auto* pb = origin_of(b);
    if (!pa && !pb)
      return whole_;
    if (!pa || !pb)
      return pa ? *pa : *pb;
    return std::tie(pa->from, pa->line, pa->column) < std::tie(pb->from, pb->line, pb->column)
               ? *pb
               : *pa;
  }

  bool rejected(key_name k) const {
    const auto* spec = find_key(k.section, k.name);
    return spec && state_.rejected(spec);
  }

  /// `key` is missing (reported where it was set to empty, if it was);
  /// `also` is a key whose rejected value would have filled the gap.
  void missing(key_name key, key_name also, std::string message) {
    if (rejected(key) || (!also.section.empty() && rejected(also)))
      return;
    const auto* at = origin_of(key);
    state_.problems.add(codes::missing_value, std::move(message), at ? *at : whole_);
  }

  void inconsistent(key_name a, key_name b, std::string message) {
    if (rejected(a) || rejected(b))
      return;
    state_.problems.add(codes::inconsistent_values, std::move(message), later(a, b));
  }

  /// Dev mode acts for dev_tenant, which a pinned node must not contradict;
  /// reported at the value set last, like E013.
  void tenant_pin_conflict() {
    key_name tenant{"auth", "tenant"};
    key_name dev_tenant{"auth", "dev_tenant"};
    if (rejected(tenant) || rejected(dev_tenant))
      return;
    const auto& c = state_.config;
    state_.problems.add(codes::tenant_pin_conflict,
                        "auth.mode = \"dev\" acts for auth.dev_tenant " + printable(c.auth.dev_tenant)
                            + ", but auth.tenant pins " + printable(c.auth.tenant)
                            + "; set them to the same tenant",
                        later(tenant, dev_tenant));
  }

  load_state& state_;
  const position& whole_;
};

} // namespace

void check_consistency(load_state& state, const position& whole) {
  consistency{state, whole}.run();
}

} // namespace troupe::config::detail
