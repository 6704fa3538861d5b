#include <catch2/catch.hpp>
#include <random>

#include "bus/envelope_check.hpp"
#include "bus/envelope_codec.hpp"
#include "bus/errc.hpp"
#include "bus/inbound.hpp"
#include "troupe/v1/node.pb.h"

using namespace troupe::bus;

namespace {

constexpr int64_t now = 1'700'000'000'000;

troupe::v1::Envelope ping_envelope() {
  troupe::v1::Ping ping;
  ping.set_seq(7);
  ping.set_data("hello");
  return make_envelope(ping);
}

principal_keys test_keys() {
  principal_keys keys;
  REQUIRE_FALSE(keys.add("k1", std::string(32, 's')));
  return keys;
}

troupe::v1::SignedPrincipal signed_for(const principal_keys& keys, const std::string& tenant,
                                       int64_t expires = now + 60'000) {
  troupe::v1::Principal p;
  p.set_tenant(tenant);
  p.set_user("bob");
  p.set_expires_unix_ms(expires);
  return *keys.sign(p);
}

errc rejection(std::string_view bytes, const check_policy& policy) {
  auto r = decode_and_check(bytes, policy, now);
  REQUIRE_FALSE(r);
  REQUIRE(r.error().category() == error_category);
  return static_cast<errc>(r.error().code());
}

} // namespace

TEST_CASE("a well-formed envelope of a known type passes the checks intact", "[envelope]") {
  auto env = ping_envelope();
  env.set_deadline_unix_ms(now + 1);
  auto r = decode_and_check(env.SerializeAsString(), check_policy{}, now);
  REQUIRE(r);
  CHECK(r->id() == env.id());
  auto ping = payload_as<troupe::v1::Ping>(*r);
  REQUIRE(ping);
  CHECK(ping->seq() == 7);
  CHECK(ping->data() == "hello");
}

TEST_CASE("a kept payload is the parsed message, shared with the handler", "[envelope]") {
  parsed_payload kept;
  auto r = decode_and_check(ping_envelope().SerializeAsString(), check_policy{}, now, &kept);
  REQUIRE(r);
  REQUIRE(kept);
  REQUIRE(kept->GetDescriptor() == troupe::v1::Ping::descriptor());
  inbound in;
  in.env = std::move(*r);
  in.payload = kept;
  auto ping = payload_of<troupe::v1::Ping>(in);
  REQUIRE(ping);
  CHECK((*ping).get() == kept.get()); // the same message, not a second parse
  CHECK((*ping)->seq() == 7);
  CHECK((*ping)->data() == "hello");
  kept.reset();
  in = inbound{};
  CHECK((*ping)->data() == "hello"); // the last reference keeps its arena alive
  // Asked for another type, or with nothing kept, it parses the envelope.
  in.env = ping_envelope();
  auto again = payload_of<troupe::v1::Ping>(in);
  REQUIRE(again);
  CHECK((*again)->seq() == 7);
  auto wrong = payload_of<troupe::v1::Heartbeat>(in);
  REQUIRE_FALSE(wrong);
  REQUIRE(wrong.error().category() == error_category);
  CHECK(static_cast<errc>(wrong.error().code()) == errc::unknown_type);
}

TEST_CASE("a payload that fails to parse keeps nothing", "[envelope]") {
  auto env = ping_envelope();
  env.set_payload("\xff\xff\xff");
  parsed_payload kept;
  auto r = decode_and_check(env.SerializeAsString(), check_policy{}, now, &kept);
  REQUIRE_FALSE(r);
  REQUIRE(r.error().category() == error_category);
  CHECK(static_cast<errc>(r.error().code()) == errc::malformed);
  CHECK_FALSE(kept);
}

TEST_CASE("oversize is decided on the byte count before any parsing", "[envelope]") {
  check_policy small{16, false, nullptr};
  CHECK(rejection(std::string(17, '\xff'), small) == errc::oversize);
  auto bytes = ping_envelope().SerializeAsString();
  CHECK(rejection(bytes, check_policy{bytes.size() - 1, false, nullptr}) == errc::oversize);
  CHECK(decode_and_check(bytes, check_policy{bytes.size(), false, nullptr}, now));
  CHECK(decode_and_check(bytes, check_policy{0, false, nullptr}, now)); // 0: no limit
}

TEST_CASE("bytes that are not an Envelope are malformed", "[envelope]") {
  CHECK(rejection("\xff\xff not protobuf", {}) == errc::malformed);
  auto bytes = ping_envelope().SerializeAsString();
  CHECK(rejection(bytes.substr(0, bytes.size() - 3), {}) == errc::malformed);
}

TEST_CASE("an unknown or missing payload_type is unknown_type", "[envelope]") {
  auto env = ping_envelope();
  env.set_payload_type("troupe.v1.NoSuchThing");
  CHECK(rejection(env.SerializeAsString(), {}) == errc::unknown_type);
  env.set_payload_type("");
  CHECK(rejection(env.SerializeAsString(), {}) == errc::unknown_type);
  // The empty envelope is zero bytes and has no type either.
  CHECK(rejection("", {}) == errc::unknown_type);
}

TEST_CASE("every troupe.v1 message type is known, not only those the program names",
          "[envelope]") {
  for (auto type : {"troupe.v1.TurnEvent", "troupe.v1.NodeInfoRequest", "troupe.v1.Heartbeat",
                    "troupe.v1.Error", "troupe.v1.Principal"}) {
    troupe::v1::Envelope env;
    env.set_payload_type(type);
    CHECK(decode_and_check(env.SerializeAsString(), {}, now));
  }
}

TEST_CASE("a payload that does not parse as its declared type is malformed", "[envelope]") {
  auto env = ping_envelope();
  env.set_payload("\xff\xff\xff");
  CHECK(rejection(env.SerializeAsString(), {}) == errc::malformed);
}

TEST_CASE("an envelope whose deadline has passed is deadline_expired", "[envelope]") {
  auto env = ping_envelope();
  env.set_deadline_unix_ms(now - 1);
  CHECK(rejection(env.SerializeAsString(), {}) == errc::deadline_expired);
  env.set_deadline_unix_ms(now);
  CHECK(rejection(env.SerializeAsString(), {}) == errc::deadline_expired);
}

TEST_CASE("checks run in order: size, shape, type, deadline, principal", "[envelope]") {
  auto keys = test_keys();
  auto env = ping_envelope();
  env.set_payload_type("troupe.v1.Nope");
  env.set_deadline_unix_ms(now - 5);
  check_policy strict{1 << 20, true, &keys};
  CHECK(rejection(env.SerializeAsString(), strict) == errc::unknown_type);
  env.set_payload_type("troupe.v1.Ping");
  CHECK(rejection(env.SerializeAsString(), strict) == errc::deadline_expired);
  env.set_deadline_unix_ms(0);
  CHECK(rejection(env.SerializeAsString(), strict) == errc::principal_missing);
}

TEST_CASE("a required principal must be present and verify", "[envelope]") {
  auto keys = test_keys();
  check_policy strict{1 << 20, true, &keys};
  auto env = ping_envelope();
  env.set_tenant("acme");
  CHECK(rejection(env.SerializeAsString(), strict) == errc::principal_missing);

  *env.mutable_principal() = signed_for(keys, "acme");
  auto ok = decode_and_check(env.SerializeAsString(), strict, now);
  REQUIRE(ok);
  CHECK(ok->principal().key_id() == "k1");

  auto forged = env;
  (*forged.mutable_principal()->mutable_signature())[5] ^= 1;
  CHECK(rejection(forged.SerializeAsString(), strict) == errc::principal_invalid);

  auto unknown_key = env;
  unknown_key.mutable_principal()->set_key_id("k2");
  CHECK(rejection(unknown_key.SerializeAsString(), strict) == errc::principal_invalid);

  auto expired = env;
  *expired.mutable_principal() = signed_for(keys, "acme", now - 1);
  CHECK(rejection(expired.SerializeAsString(), strict) == errc::principal_invalid);

  auto other_tenant = env;
  *other_tenant.mutable_principal() = signed_for(keys, "globex");
  CHECK(rejection(other_tenant.SerializeAsString(), strict) == errc::principal_invalid);
}

TEST_CASE("a principal that is present must verify even where none is required",
          "[envelope]") {
  auto keys = test_keys();
  auto env = ping_envelope();
  *env.mutable_principal() = signed_for(keys, "acme");
  (*env.mutable_principal()->mutable_signature())[0] ^= 1;
  CHECK(rejection(env.SerializeAsString(), check_policy{1 << 20, false, &keys})
        == errc::principal_invalid);
  CHECK(rejection(env.SerializeAsString(), check_policy{1 << 20, false, nullptr})
        == errc::principal_invalid);
  CHECK(decode_and_check(ping_envelope().SerializeAsString(), check_policy{1 << 20, false, &keys},
                         now));
}

TEST_CASE("random and mutated bytes are rejected with a bus error, never a crash",
          "[envelope]") {
  std::mt19937 rng{42};
  auto keys = test_keys();
  check_policy policy{4096, false, &keys};
  auto base = ping_envelope();
  *base.mutable_principal() = signed_for(keys, "");
  auto good = base.SerializeAsString();
  size_t accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 300);
      for (auto& c : bytes)
        c = static_cast<char>(rng());
    } else {
      bytes = good;
      for (int flips = 0; flips < 3; ++flips)
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    auto r = decode_and_check(bytes, policy, now);
    if (r)
      ++accepted;
    else
      CHECK(r.error().category() == error_category);
  }
  CHECK(accepted < 3000);
}
