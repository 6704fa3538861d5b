#include <catch2/catch.hpp>

#include "storage/errc.hpp"

using namespace troupe::storage;

TEST_CASE("storage error codes have stable snake_case names that parse back") {
  const std::pair<errc, std::string_view> expected[] = {
      {errc::unknown, "unknown"},
      {errc::unreachable, "unreachable"},
      {errc::migration_failed, "migration_failed"},
      {errc::checksum_mismatch, "checksum_mismatch"},
      {errc::lock_timeout, "lock_timeout"},
      {errc::query_failed, "query_failed"},
      {errc::invalid_url, "invalid_url"},
  };
  int number = 1;
  for (auto [code, name] : expected) {
    CHECK(static_cast<int>(code) == number++); // numbers never change meaning
    CHECK(to_string(code) == name);
    CHECK(errc_from_string(name) == code);
  }
}

TEST_CASE("an unknown storage error code or name maps to unknown instead of failing") {
  CHECK(to_string(static_cast<errc>(0)) == "unknown");
  CHECK(to_string(static_cast<errc>(200)) == "unknown");
  CHECK(errc_from_string("no_such_code") == errc::unknown);
  CHECK(errc_from_string("") == errc::unknown);
}

TEST_CASE("storage errors carry the storage category and a readable message") {
  auto err = make_error(errc::checksum_mismatch, "migration 3 changed");
  CHECK(err.category() == error_category);
  CHECK(is(err, errc::checksum_mismatch));
  CHECK_FALSE(is(err, errc::unreachable));
  CHECK(message_of(err) == "migration 3 changed");
  CHECK(message_of(make_error(errc::unknown)).empty());
  caf::error foreign{static_cast<uint8_t>(errc::checksum_mismatch), caf::atom("bus")};
  CHECK_FALSE(is(foreign, errc::checksum_mismatch));
}
