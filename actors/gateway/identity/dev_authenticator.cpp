#include "actors/gateway/identity/dev_authenticator.hpp"

#include "actors/gateway/identity/errc.hpp"
#include "actors/gateway/identity/identity_headers.hpp"
#include "bus/subjects.hpp"
#include "common/logging.hpp"

namespace troupe::gateway::identity {

namespace {

class dev_authenticator final : public authenticator {
public:
  explicit dev_authenticator(dev_options opts) : opts_(std::move(opts)) {}

  void authenticate(credentials c, callback<troupe::v1::Principal> done) override {
    done(check_identity_headers(c, stamp_principal(opts_.tenant, opts_.user, opts_.roles,
                                                   std::chrono::system_clock::now(),
                                                   opts_.principal_ttl)));
  }

private:
  dev_options opts_;
};

} // namespace

caf::expected<authenticator_ptr> make_dev_authenticator(dev_options opts) {
  if (!bus::valid_token(opts.tenant))
    return make_error(errc::options_invalid,
                      "the dev tenant must be letters, digits, '-' and '_' only, and not empty");
  if (opts.user.empty())
    return make_error(errc::options_invalid, "the dev user must not be empty");
  if (opts.principal_ttl.count() <= 0)
    return make_error(errc::options_invalid, "the principal lifetime must be positive");
  log::get("identity")
      ->warn("dev mode: authentication is OFF; every request acts as tenant '{}'"
             " user '{}'",
             opts.tenant, opts.user);
  return std::make_shared<dev_authenticator>(std::move(opts));
}

} // namespace troupe::gateway::identity
