#include <catch2/catch.hpp>

#include "storage/conninfo.hpp"
#include "storage/errc.hpp"

using namespace troupe::storage;
using namespace std::chrono_literals;

TEST_CASE("a postgresql URL becomes libpq key/value form with the caller's connect timeout") {
  auto ci = parse_conninfo("postgresql://alice:pw@127.0.0.1:5433/troupe?application_name=t", 3s);
  REQUIRE(ci);
  CHECK(ci->text.find("host='127.0.0.1'") != std::string::npos);
  CHECK(ci->text.find("port='5433'") != std::string::npos);
  CHECK(ci->text.find("dbname='troupe'") != std::string::npos);
  CHECK(ci->text.find("application_name='t'") != std::string::npos);
  CHECK(ci->text.find("connect_timeout='3'") != std::string::npos);
  CHECK(ci->endpoint == "127.0.0.1:5433/troupe");
  CHECK(ci->password == "pw");
  CHECK(ci->endpoint.find("pw") == std::string::npos);
}

TEST_CASE("the URL's own connect_timeout applies only when the caller names none") {
  auto url = std::string{"host=db.example port=6000 dbname=x connect_timeout=7"};
  auto kept = parse_conninfo(url, 0s);
  REQUIRE(kept);
  CHECK(kept->text.find("connect_timeout='7'") != std::string::npos);
  auto overridden = parse_conninfo(url, 4s);
  REQUIRE(overridden);
  CHECK(overridden->text.find("connect_timeout='4'") != std::string::npos);
  CHECK(overridden->text.find("connect_timeout='7'") == std::string::npos);
  auto defaulted = parse_conninfo("host=db.example", 0s);
  REQUIRE(defaulted);
  CHECK(defaulted->text.find("connect_timeout='" + std::to_string(default_connect_timeout.count())
                             + "'")
        != std::string::npos);
  CHECK(defaulted->endpoint == "db.example:5432/(default)");
}

TEST_CASE("values with quotes and backslashes survive the key/value form") {
  auto ci = parse_conninfo("host=h password='it\\'s a \\\\ pass' dbname=d", 2s);
  REQUIRE(ci);
  CHECK(ci->password == "it's a \\ pass");
  CHECK(ci->text.find("password='it\\'s a \\\\ pass'") != std::string::npos);
}

TEST_CASE("a URL libpq cannot parse is invalid_url and its message hides the password") {
  SECTION("unknown query parameter") {
    auto ci = parse_conninfo("postgresql://bob:hunter2secret@h:5432/db?no_such_option=1", 2s);
    REQUIRE_FALSE(ci);
    CHECK(is(ci.error(), errc::invalid_url));
    CHECK(message_of(ci.error()).find("invalid PostgreSQL URL") != std::string::npos);
    CHECK(message_of(ci.error()).find("hunter2secret") == std::string::npos);
  }
  SECTION("broken key/value syntax right after the password") {
    auto ci = parse_conninfo("host=h password=hunter2secret hunter2secret", 2s);
    REQUIRE_FALSE(ci);
    CHECK(is(ci.error(), errc::invalid_url));
    CHECK(message_of(ci.error()).find("hunter2secret") == std::string::npos);
  }
  SECTION("empty or blank") {
    for (auto url : {"", "   "}) {
      auto ci = parse_conninfo(url, 2s);
      REQUIRE_FALSE(ci);
      CHECK(is(ci.error(), errc::invalid_url));
    }
  }
  SECTION("bad percent-encoding and control bytes") {
    auto ci = parse_conninfo(std::string("postgresql://u:p\x01\xff%zz@h/db"), 2s);
    REQUIRE_FALSE(ci);
    CHECK(is(ci.error(), errc::invalid_url));
  }
}

TEST_CASE("libpq messages are flattened to one line without their severity prefix") {
  CHECK(one_line("ERROR:  relation \"x\" does not exist\nLINE 1: SELECT\n   ^\n")
        == "relation \"x\" does not exist LINE 1: SELECT ^");
  CHECK(one_line("connection to server failed: Connection refused\n\tIs the server running?\n")
        == "connection to server failed: Connection refused Is the server running?");
  CHECK(one_line("").empty());
}

TEST_CASE("redact removes every occurrence of the secret and nothing else") {
  CHECK(redact("pw here and pw there", "pw") == "*** here and *** there");
  CHECK(redact("nothing secret", "") == "nothing secret");
  CHECK(redact("aaaa", "aa") == "******");
}
