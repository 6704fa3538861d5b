#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/errc.hpp"
#include "storage/migrations.hpp"

using namespace troupe::storage;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

} // namespace

TEST_CASE("every migration file is embedded byte for byte, in version order") {
  std::filesystem::path dir = TROUPE_SOURCE_DIR "/storage/migrations";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator{dir})
    if (entry.path().extension() == ".sql")
      ++files;
  const auto& ms = builtin_migrations();
  REQUIRE(ms.size() == files);
  REQUIRE_FALSE(ms.empty());
  CHECK(ms.front().version == 1);
  CHECK(ms.front().name == "init");
  CHECK(ms.front().sql == read_file(dir / "0001_init.sql"));
  CHECK(ms.front().sql.find("CREATE TABLE troupe_nodes") != std::string::npos);
  CHECK_FALSE(validate(ms));
}

TEST_CASE("checksum is the hex SHA-256 of the SQL text") {
  CHECK(checksum("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(checksum("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(checksum("SELECT 1;") != checksum("SELECT 1; "));
}

TEST_CASE("validate refuses migration lists no database could follow") {
  auto refused = [](std::vector<migration> ms, const std::string& needle) {
    auto err = validate(ms);
    REQUIRE(err);
    CHECK(is(err, errc::migration_failed));
    CHECK(message_of(err).find(needle) != std::string::npos);
  };
  refused({{1, "a", "SELECT 1"}, {1, "b", "SELECT 2"}}, "migration 1 (b) follows version 1");
  refused({{2, "a", "SELECT 1"}, {1, "b", "SELECT 2"}}, "migration 1 (b) follows version 2");
  refused({{0, "zero", "SELECT 1"}}, "versions start at 1");
  refused({{-5, "neg", "SELECT 1"}}, "versions start at 1");
  refused({{1, "blank", " \n\t"}}, "migration 1 (blank) has no SQL");
  CHECK_FALSE(validate({}));
  CHECK_FALSE(validate({{1, "a", "SELECT 1"}, {5, "b", "SELECT 2"}, {10, "c", "SELECT 3"}}));
}
