#include "actors/gateway/identity/bearer_authenticator.hpp"

#include "actors/gateway/identity/api_key.hpp"
#include "actors/gateway/identity/api_key_cache.hpp"
#include "actors/gateway/identity/auth_errors.hpp"
#include "actors/gateway/identity/bearer_token.hpp"
#include "actors/gateway/identity/errc.hpp"
#include "actors/gateway/identity/identity_headers.hpp"
#include "bus/subjects.hpp"
#include "storage/conninfo.hpp"

namespace troupe::gateway::identity {

namespace {

using principal_result = result<troupe::v1::Principal>;

/// An API key request waiting for the store.
struct waiting_request {
  std::string key_id;
  std::string secret;
  credentials creds;
  callback<troupe::v1::Principal> done;
};

class bearer_authenticator final : public authenticator,
                                   public std::enable_shared_from_this<bearer_authenticator> {
public:
  explicit bearer_authenticator(bearer_options opts)
      : jwt_(std::move(opts.jwt)),
        cache_(opts.cache_ttl, opts.negative_cache_ttl, opts.cache_capacity),
        cache_clock_(std::move(opts.cache_clock)), principal_ttl_(opts.principal_ttl),
        tenant_(std::move(opts.tenant)) {
    if (!opts.api_keys.database_url.empty())
      lookup_ = std::make_unique<api_key_lookup>(std::move(opts.api_keys));
  }

  void authenticate(credentials c, callback<troupe::v1::Principal> done) override {
    auto token = bearer_token(c.authorization);
    if (auto* err = std::get_if<api_error>(&token))
      return done(std::move(*err));
    auto text = std::get<std::string_view>(token);
    if (text.starts_with(api_key_prefix))
      return authenticate_key(text, std::move(c), std::move(done));
    if (!jwt_)
      return done(invalid_token("JWTs are not accepted here; use an API key"));
    done(check_identity_headers(c, jwt_->verify(text, std::chrono::system_clock::now())));
  }

private:
  /// `token` views into `c.authorization`.
  void authenticate_key(std::string_view token, credentials c,
                        callback<troupe::v1::Principal> done) {
    auto key = parse_api_key(token);
    if (!key)
      return done(invalid_token("malformed API key"));
    if (!lookup_)
      return done(invalid_token("API keys are not accepted here; use a JWT"));
    if (auto known = cache_.find(key->key_id, cache_clock_()))
      return done(check_identity_headers(c, judge(*known, key->secret)));

    auto w = std::make_shared<waiting_request>();
    w->key_id = key->key_id;
    w->secret = key->secret;
    w->creds = std::move(c); // `key` dangles from here on
    w->done = std::move(done);
    auto self = shared_from_this();
    auto queued = lookup_->fetch(
        w->key_id, [self, w](const api_key_lookup::fetched& row) { self->on_fetched(*w, row); });
    if (!queued)
      w->done(auth_unavailable("too many API key lookups are waiting; retry later"));
  }

  /// On the lookup thread.
  void on_fetched(waiting_request& w, const api_key_lookup::fetched& row) {
    if (!row)
      return w.done(auth_unavailable("the API key store is unavailable; retry later"));
    known_api_key known;
    if (row->has_value())
      known = std::make_shared<const storage::api_key_record>(**row);
    cache_.put(w.key_id, known, cache_clock_());
    auto verdict = judge(known, w.secret);
    if (std::holds_alternative<troupe::v1::Principal>(verdict))
      lookup_->touch(w.key_id);
    w.done(check_identity_headers(w.creds, std::move(verdict)));
  }

  /// Unknown and wrong keys get one answer, and only the holder of the
  /// secret learns that a key was revoked.
  principal_result judge(const known_api_key& key, std::string_view secret) const {
    if (!key || !api_key_secret_matches(secret, key->secret_sha256))
      return invalid_token("unknown or wrong API key");
    if (key->revoked())
      return invalid_token("the API key has been revoked");
    if (!tenant_.empty() && key->tenant != tenant_)
      return tenant_mismatch("the API key's tenant is not the tenant this gateway serves");
    return stamp_principal(key->tenant, key->user_id, key->roles, std::chrono::system_clock::now(),
                           principal_ttl_);
  }

  std::optional<jwt_verifier> jwt_;
  api_key_cache cache_;
  std::function<api_key_cache::clock::time_point()> cache_clock_;
  std::chrono::milliseconds principal_ttl_;
  std::string tenant_;
  // Last: its destructor stops the thread that calls on_fetched.
  std::unique_ptr<api_key_lookup> lookup_;
};

caf::error check(const bearer_options& o) {
  auto invalid = [](std::string why) { return make_error(errc::options_invalid, std::move(why)); };
  if (!o.jwt && o.api_keys.database_url.empty())
    return invalid("nothing to authenticate with: configure a JWT key or the API key database");
  if (o.cache_ttl.count() < 0 || o.negative_cache_ttl.count() < 0)
    return invalid("API key cache TTLs must not be negative");
  if (!o.cache_clock)
    return invalid("the API key cache needs a clock");
  if (o.cache_capacity == 0 || o.api_keys.max_waiting == 0)
    return invalid("the API key cache and lookup queue must hold at least one entry");
  if (o.principal_ttl.count() <= 0)
    return invalid("the principal lifetime must be positive");
  if (!o.tenant.empty() && !bus::valid_token(o.tenant))
    return invalid("the pinned tenant must be letters, digits, '-' and '_' only");
  if (o.jwt && o.jwt->tenant() != o.tenant)
    return invalid("the JWT verifier and the API keys must be pinned to the same tenant");
  if (o.api_keys.connect_timeout.count() <= 0 || o.api_keys.retry_after.count() < 0)
    return invalid("the API key store's connect timeout must be positive");
  if (!o.api_keys.database_url.empty())
    if (auto info = storage::parse_conninfo(o.api_keys.database_url, o.api_keys.connect_timeout);
        !info)
      return info.error();
  return {};
}

} // namespace

caf::expected<authenticator_ptr> make_bearer_authenticator(bearer_options opts) {
  if (auto err = check(opts))
    return err;
  return std::make_shared<bearer_authenticator>(std::move(opts));
}

} // namespace troupe::gateway::identity
