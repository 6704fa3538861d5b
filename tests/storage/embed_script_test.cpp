#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "tests/support/child_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// A temporary folder of migration files and a run of the embedding step on it.
struct sql_dir {
  sql_dir() {
    char tmpl[] = "/tmp/troupe-embed-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~sql_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void add(const std::string& name, const std::string& text) {
    std::ofstream{path / name, std::ios::binary} << text;
  }
  /// The exit status of the generator.
  int run() {
    std::string files;
    for (const auto& e : fs::directory_iterator{path})
      if (e.path().extension() == ".sql")
        files += (files.empty() ? "" : ";") + e.path().string();
    troupe::test::child_process p{{TROUPE_CMAKE_COMMAND, "-DOUT=" + output().string(),
                                   "-DSQL_FILES=" + files, "-P", TROUPE_EMBED_SCRIPT},
                                  (path / "cmake.log").string()};
    return p.wait_for(30s);
  }
  fs::path output() const { return path / "out.cpp"; }
  std::string generated() const {
    std::ifstream in{output()};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path path;
};

} // namespace

TEST_CASE("the embedding step orders migrations by version, not by file name",
          "[storage][integration]") {
  sql_dir d;
  d.add("10_tenth.sql", "SELECT 10;");
  d.add("9_ninth.sql", "SELECT 9;\r\n"); // CRLF stays CRLF: checksums are of the bytes
  REQUIRE(d.run() == 0);
  auto text = d.generated();
  auto ninth = text.find("{9, \"ninth\"");
  auto tenth = text.find("{10, \"tenth\"");
  REQUIRE(ninth != std::string::npos);
  REQUIRE(tenth != std::string::npos);
  CHECK(ninth < tenth); // "10_" sorts before "9_" as text
  CHECK(text.find("\\x0d\\x0a") != std::string::npos);
  CHECK(text.find(", 11)}") != std::string::npos); // "SELECT 9;\r\n" is 11 bytes
}

TEST_CASE("the embedding step refuses badly named, zero and duplicate versions",
          "[storage][integration]") {
  SECTION("no version prefix") {
    sql_dir d;
    d.add("init.sql", "SELECT 1;");
    CHECK(d.run() != 0);
  }
  SECTION("upper case name") {
    sql_dir d;
    d.add("0001_Init.sql", "SELECT 1;");
    CHECK(d.run() != 0);
  }
  SECTION("version zero") {
    sql_dir d;
    d.add("0000_nothing.sql", "SELECT 1;");
    CHECK(d.run() != 0);
  }
  SECTION("the same version twice") {
    sql_dir d;
    d.add("0001_a.sql", "SELECT 1;");
    d.add("1_b.sql", "SELECT 2;");
    CHECK(d.run() != 0);
  }
  SECTION("an empty file is embedded; migrate() refuses it at run time") {
    sql_dir d;
    d.add("0001_empty.sql", "");
    REQUIRE(d.run() == 0);
    CHECK(d.generated().find(", 0)}") != std::string::npos);
  }
}
