#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "actors/gateway/identity/api_key.hpp"
#include "actors/gateway/identity/bearer_authenticator.hpp"
#include "actors/gateway/identity/errc.hpp"
#include "storage/api_key_store.hpp"
#include "storage/errc.hpp"
#include "tests/identity/identity_test_support.hpp"
#include "tests/identity/jwt_mint.hpp"
#include "tests/identity/sync_auth.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/free_port.hpp"

using namespace troupe;
using namespace troupe::gateway;
using namespace troupe::gateway::identity;
using namespace troupe::identity_test;
using namespace std::chrono_literals;

namespace {

const std::string jwt_secret(32, 'j');

/// The cache's clock in these tests: it moves only when a test steps it, so
/// whether an answer comes from the cache never depends on how fast the
/// machine is. Copies share the time; the authenticator may read it on its
/// lookup thread.
class manual_clock {
public:
  void advance(std::chrono::milliseconds d) { *offset_ms_ += d.count(); }
  std::function<std::chrono::steady_clock::time_point()> source() const {
    return [offset = offset_ms_] {
      return std::chrono::steady_clock::time_point{} + 1h
             + std::chrono::milliseconds{offset->load()};
    };
  }

private:
  std::shared_ptr<std::atomic<long>> offset_ms_ = std::make_shared<std::atomic<long>>(0);
};

bearer_options options_for(const std::string& url, const manual_clock& clock = {}) {
  bearer_options o;
  o.api_keys.database_url = url;
  o.api_keys.connect_timeout = 2s;
  o.cache_ttl = 1s;
  o.negative_cache_ttl = 1s;
  o.cache_clock = clock.source();
  return o;
}

authenticator_ptr make(bearer_options o) {
  auto a = make_bearer_authenticator(std::move(o));
  REQUIRE(a);
  return *a;
}

/// A JWT for `user`, naming `tenant` in the claim `claim` unless `tenant` is empty.
std::string jwt_for(const std::string& tenant, const std::string& user,
                    const std::string& claim = "tenant") {
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count()
             + 600;
  json claims{{"sub", user}, {"exp", exp}};
  if (!tenant.empty())
    claims[claim] = tenant;
  return mint_hmac({{"alg", "HS256"}}, claims, jwt_secret);
}

/// A bearer authenticator for API keys in `url` and HS256 JWTs whose tenant
/// is in `claim`, pinned to `tenant` (empty: multi-tenant).
authenticator_ptr make_pinned(const std::string& url, const std::string& claim,
                              const std::string& tenant) {
  auto o = options_for(url);
  jwt_options jwt;
  jwt.hs256_secret = jwt_secret;
  jwt.tenant_claim = claim;
  jwt.tenant = tenant;
  auto v = jwt_verifier::make(jwt);
  REQUIRE(v);
  o.jwt = std::move(*v);
  o.tenant = tenant;
  return make(std::move(o));
}

/// A loopback port that completes TCP handshakes and then says nothing, the
/// way a hung database server looks to a client.
class silent_server {
public:
  silent_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~silent_server() {
    for (int c : clients_)
      ::close(c);
    ::close(fd_);
  }
  std::string url() const { return "postgresql://x@127.0.0.1:" + std::to_string(port_) + "/db"; }

  /// Waits until a client has connected, and keeps it connected in silence.
  bool wait_for_client(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
      return false;
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0)
      return false;
    clients_.push_back(c);
    return true;
  }
  /// How many clients have connected so far.
  size_t clients() {
    while (wait_for_client(0ms)) {
    }
    return clients_.size();
  }

private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> clients_;
};

/// A key id and secret the test chooses, stored as issue_api_key would.
void store_key(const std::string& url, const std::string& key_id, const std::string& secret,
               const std::string& tenant) {
  auto conn = open_session(url);
  storage::api_key_record rec;
  rec.key_id = key_id;
  rec.tenant = tenant;
  rec.user_id = "bob";
  rec.secret_sha256 = hash_api_key_secret(secret);
  REQUIRE_FALSE(storage::create_api_key(conn, rec));
}

const std::string secret43 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

} // namespace

TEST_CASE("an issued API key authenticates as its tenant, user and roles",
          "[identity][integration]") {
  auto url = migrated_database();
  auto conn = open_session(url);
  auto key = issue_api_key(conn, "acme", "alice", "ci", {"reader", "writer"});
  REQUIRE(key);
  auto auth = make(options_for(url));
  auto r = authenticate(*auth, bearer(key->full_key));
  auto* p = std::get_if<troupe::v1::Principal>(&r);
  REQUIRE(p != nullptr);
  CHECK(p->tenant() == "acme");
  CHECK(p->user() == "alice");
  CHECK(p->roles_size() == 2);
  CHECK(p->expires_unix_ms() - p->issued_unix_ms()
        == std::chrono::milliseconds{default_principal_ttl}.count());
  // The second use is served by the cache; the first was recorded as a use.
  CHECK(code_of(authenticate(*auth, bearer(key->full_key))) == "ok");
  CHECK(test::wait_until(5s, [&] {
    auto row = storage::find_api_key(conn, key->key_id);
    return row && *row && (*row)->last_used_unix_ms > 0;
  }));
}

TEST_CASE("a wrong secret, an unknown key id or a malformed key is an invalid token",
          "[identity][integration]") {
  auto url = migrated_database();
  auto conn = open_session(url);
  auto key = issue_api_key(conn, "acme", "alice", "", {});
  REQUIRE(key);
  auto auth = make(options_for(url));
  auto wrong = key->full_key;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  CHECK(code_of(authenticate(*auth, bearer(wrong))) == "invalid_token");
  // Also when the right key is already cached.
  CHECK(code_of(authenticate(*auth, bearer(key->full_key))) == "ok");
  CHECK(code_of(authenticate(*auth, bearer(wrong))) == "invalid_token");
  CHECK(code_of(authenticate(*auth, bearer("trp_AAAAAAAAAAAA_" + secret43))) == "invalid_token");
  auto malformed = authenticate(*auth, bearer("trp_short"));
  CHECK(code_of(malformed) == "invalid_token");
  CHECK(status_of(malformed) == 401);
}

TEST_CASE("a revoked API key is refused once the cache TTL has passed", "[identity][integration]") {
  auto url = migrated_database();
  auto conn = open_session(url);
  auto key = issue_api_key(conn, "acme", "alice", "", {});
  REQUIRE(key);
  manual_clock clock;
  auto auth = make(options_for(url, clock)); // cache TTL 1 s
  REQUIRE(code_of(authenticate(*auth, bearer(key->full_key))) == "ok");
  auto revoked = storage::revoke_api_key(conn, key->key_id);
  REQUIRE(revoked);
  REQUIRE(*revoked);
  // Within the TTL the cached entry still answers: that is the documented bound.
  clock.advance(999ms);
  CHECK(code_of(authenticate(*auth, bearer(key->full_key))) == "ok");
  clock.advance(1ms);
  auto r = authenticate(*auth, bearer(key->full_key));
  CHECK(code_of(r) == "invalid_token");
  CHECK_THAT(std::get<api_error>(r).message, Catch::Contains("revoked"));
}

TEST_CASE("an unknown key is remembered briefly, then a key created since is found",
          "[identity][integration]") {
  auto url = migrated_database();
  manual_clock clock;
  auto auth = make(options_for(url, clock)); // negative TTL 1 s
  auto full = "trp_NewKey000001_" + secret43;
  CHECK(code_of(authenticate(*auth, bearer(full))) == "invalid_token");
  store_key(url, "NewKey000001", secret43, "acme");
  clock.advance(999ms);
  CHECK(code_of(authenticate(*auth, bearer(full))) == "invalid_token");
  clock.advance(1ms);
  CHECK(code_of(authenticate(*auth, bearer(full))) == "ok");
}

TEST_CASE("identity headers naming another tenant or user are refused with 403",
          "[identity][integration]") {
  auto url = migrated_database();
  auto conn = open_session(url);
  auto key = issue_api_key(conn, "acme", "alice", "", {});
  REQUIRE(key);
  auto o = options_for(url);
  auto v = jwt_verifier::make({jwt_secret, "", "", "", 30s});
  REQUIRE(v);
  o.jwt = std::move(*v);
  auto auth = make(std::move(o));
  for (const auto& token : {key->full_key, jwt_for("acme", "alice")}) {
    auto spoofed = authenticate(*auth, bearer(token, "globex"));
    CHECK(code_of(spoofed) == "tenant_mismatch");
    CHECK(status_of(spoofed) == 403);
    CHECK(code_of(authenticate(*auth, bearer(token, "", "mallory"))) == "user_mismatch");
    CHECK(code_of(authenticate(*auth, bearer(token, "acme", "alice"))) == "ok");
  }
}

TEST_CASE("a gateway pinned to one tenant refuses API keys and JWTs of another with 403",
          "[identity][integration]") {
  auto url = migrated_database();
  auto conn = open_session(url);
  auto ours = issue_api_key(conn, "acme", "alice", "", {});
  auto theirs = issue_api_key(conn, "globex", "gina", "", {});
  REQUIRE(ours);
  REQUIRE(theirs);
  auto auth = make_pinned(url, "tid", "acme");

  // Twice each: the first answer comes from the store, the second from the cache.
  for (int i = 0; i < 2; ++i) {
    INFO("attempt " << i);
    auto foreign_key = authenticate(*auth, bearer(theirs->full_key));
    CHECK(code_of(foreign_key) == "tenant_mismatch");
    CHECK(status_of(foreign_key) == 403);
    CHECK(code_of(authenticate(*auth, bearer(ours->full_key))) == "ok");
  }
  auto foreign_jwt = authenticate(*auth, bearer(jwt_for("globex", "gina", "tid")));
  CHECK(code_of(foreign_jwt) == "tenant_mismatch");
  CHECK(status_of(foreign_jwt) == 403);
  auto no_claim = authenticate(*auth, bearer(jwt_for("", "carol")));
  REQUIRE(code_of(no_claim) == "ok");
  CHECK(std::get<troupe::v1::Principal>(no_claim).tenant() == "acme");
  CHECK(code_of(authenticate(*auth, bearer(jwt_for("acme", "carol", "tid")))) == "ok");
  // The identity headers still must agree with the pinned identity.
  for (const auto& token : {ours->full_key, jwt_for("", "carol")}) {
    CHECK(code_of(authenticate(*auth, bearer(token, "globex"))) == "tenant_mismatch");
    CHECK(code_of(authenticate(*auth, bearer(token, "acme"))) == "ok");
  }
  // A wrong secret for a foreign key learns nothing about its tenant.
  auto wrong = theirs->full_key;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  CHECK(code_of(authenticate(*auth, bearer(wrong))) == "invalid_token");
}

TEST_CASE("a multi-tenant gateway with a configured tenant claim refuses JWTs without it") {
  auto auth = make_pinned("postgresql://x@127.0.0.1:1/db", "tid", "");
  auto r = authenticate(*auth, bearer(jwt_for("globex", "gina", "tid")));
  REQUIRE(code_of(r) == "ok");
  CHECK(std::get<troupe::v1::Principal>(r).tenant() == "globex");
  auto missing = authenticate(*auth, bearer(jwt_for("", "gina")));
  CHECK(code_of(missing) == "invalid_token");
  CHECK(status_of(missing) == 401);
  CHECK(code_of(authenticate(*auth, bearer(jwt_for("globex", "gina")))) == "invalid_token");
}

TEST_CASE("the JWT verifier and the API keys must be pinned to the same, valid tenant") {
  auto pinned_jwt = [](const std::string& tenant) {
    jwt_options jwt;
    jwt.hs256_secret = jwt_secret;
    jwt.tenant = tenant;
    auto v = jwt_verifier::make(jwt);
    REQUIRE(v);
    return std::move(*v);
  };
  auto o = options_for("postgresql://x@127.0.0.1:1/db");
  o.jwt = pinned_jwt("acme");
  CHECK(is(make_bearer_authenticator(o).error(), errc::options_invalid));
  o.tenant = "globex";
  CHECK(is(make_bearer_authenticator(o).error(), errc::options_invalid));
  o.tenant = "acme";
  CHECK(make_bearer_authenticator(o));
  o.jwt = pinned_jwt("");
  CHECK(is(make_bearer_authenticator(o).error(), errc::options_invalid));
  auto keys_only = options_for("postgresql://x@127.0.0.1:1/db");
  keys_only.tenant = "ac.me";
  CHECK(is(make_bearer_authenticator(keys_only).error(), errc::options_invalid));
}

TEST_CASE("JWTs and API keys share one authenticator, a missing header is unauthenticated",
          "[identity][integration]") {
  auto url = migrated_database();
  bearer_options o = options_for(url);
  auto v = jwt_verifier::make({jwt_secret, "", "", "", 30s});
  REQUIRE(v);
  o.jwt = std::move(*v);
  auto auth = make(std::move(o));
  auto r = authenticate(*auth, bearer(jwt_for("acme", "carol")));
  REQUIRE(code_of(r) == "ok");
  CHECK(std::get<troupe::v1::Principal>(r).user() == "carol");
  CHECK(code_of(authenticate(*auth, bearer("not.a.jwt"))) == "invalid_token");
  auto missing = authenticate(*auth, {});
  CHECK(code_of(missing) == "unauthenticated");
  CHECK(status_of(missing) == 401);
  CHECK(code_of(authenticate(*auth, {"Basic YTpi", "", ""})) == "unauthenticated");
}

TEST_CASE("what is not enabled is refused as an invalid token") {
  bearer_options jwt_only;
  auto v = jwt_verifier::make({jwt_secret, "", "", "", 30s});
  REQUIRE(v);
  jwt_only.jwt = std::move(*v);
  auto a = make(std::move(jwt_only));
  CHECK(code_of(authenticate(*a, bearer("trp_AAAAAAAAAAAA_" + secret43))) == "invalid_token");

  auto keys_only = make(options_for("postgresql://x@127.0.0.1:1/db"));
  CHECK(code_of(authenticate(*keys_only, bearer(jwt_for("acme", "alice")))) == "invalid_token");
}

TEST_CASE("an authenticator needs something to authenticate with and sane limits") {
  CHECK(is(make_bearer_authenticator({}).error(), errc::options_invalid));
  auto zero_queue = options_for("postgresql://x@127.0.0.1:1/db");
  zero_queue.api_keys.max_waiting = 0;
  CHECK(is(make_bearer_authenticator(zero_queue).error(), errc::options_invalid));
  auto bad_url = options_for("postgresql://[::1");
  CHECK(storage::is(make_bearer_authenticator(bad_url).error(), storage::errc::invalid_url));
  auto no_clock = options_for("postgresql://x@127.0.0.1:1/db");
  no_clock.cache_clock = nullptr;
  CHECK(is(make_bearer_authenticator(no_clock).error(), errc::options_invalid));
}

TEST_CASE("with PostgreSQL unreachable an API key gets 503 auth_unavailable at once") {
  test::closed_port nobody;
  auto url = "postgresql://x@127.0.0.1:" + std::to_string(nobody.port()) + "/db";
  auto auth = make(options_for(url));
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = authenticate(*auth, bearer("trp_AAAAAAAAAAA" + std::to_string(i) + "_" + secret43));
    CHECK(code_of(r) == "auth_unavailable");
    CHECK(status_of(r) == 503);
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  }
}

TEST_CASE("a database that goes away turns cache misses into 503 while cached keys still work",
          "[identity][integration]") {
  test::pg_server own;
  auto url = own.create_database("identity_down");
  REQUIRE(storage::migrate(url, storage::builtin_migrations(), 5s));
  auto conn = open_session(url);
  auto first = issue_api_key(conn, "acme", "alice", "", {});
  auto second = issue_api_key(conn, "acme", "alice", "", {});
  REQUIRE(first);
  REQUIRE(second);
  auto o = options_for(url);
  o.cache_ttl = 60s;
  auto auth = make(o);
  REQUIRE(code_of(authenticate(*auth, bearer(first->full_key))) == "ok");
  own.stop();
  auto t0 = std::chrono::steady_clock::now();
  auto r = authenticate(*auth, bearer(second->full_key));
  CHECK(code_of(r) == "auth_unavailable");
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(code_of(authenticate(*auth, bearer(first->full_key))) == "ok");
}

TEST_CASE("a full lookup queue answers 503 at once, and every waiting request is answered") {
  silent_server hung;
  auto o = options_for(hung.url());
  o.api_keys.max_waiting = 1;
  auto auth = make(o);
  std::atomic<int> answered{0};
  std::atomic<int> unavailable{0};
  auto count = [&](const principal_result& r) {
    if (code_of(r) == "auth_unavailable")
      ++unavailable;
    ++answered;
  };
  // The first lookup occupies the thread (connected to a server that never
  // answers), the second waits in the queue, the third finds the queue full.
  auth->authenticate(bearer("trp_AAAAAAAAAAA1_" + secret43), count);
  REQUIRE(hung.wait_for_client(10s));
  auth->authenticate(bearer("trp_AAAAAAAAAAA2_" + secret43), count);
  auto t0 = std::chrono::steady_clock::now();
  auto full = authenticate(*auth, bearer("trp_AAAAAAAAAAA3_" + secret43), 1s);
  CHECK(code_of(full) == "auth_unavailable");
  CHECK_THAT(std::get<api_error>(full).message, Catch::Contains("too many"));
  CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
  // Dropping our reference does not lose the two waiting requests.
  auth.reset();
  CHECK(test::wait_until(10s, [&] { return answered.load() == 2; }));
  CHECK(unavailable.load() == 2);
  // One connection for both: the failed connect answers the next lookup at
  // once instead of trying again.
  CHECK(hung.clients() == 1);
}
