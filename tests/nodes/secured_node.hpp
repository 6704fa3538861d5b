#pragma once
/// A node in `required` auth mode on its own nats-server and a fresh
/// database: HS256 JWTs with `hs256_secret` (issuer https://idp.test,
/// audience troupe), API keys from `troupe apikey create`, and no API key
/// cache, so a revoked key stops working at once. `auth_extra` adds TOML
/// lines to its [auth] table.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/nodes/node_fixture.hpp"
#include "tests/support/nats_server.hpp"
#include "tests/support/pg_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace troupe::test {

inline const std::string hs256_secret(40, 's');

struct api_key {
  std::string id;
  std::string key;
};

struct secured_node {
  nats_server nats;
  std::string db;
  temp_dir tmp{"troupe-secured"};
  std::string dir = tmp.path();
  std::unique_ptr<node_process> node;

  explicit secured_node(const std::string& auth_extra = {}) {
    static int n = 0;
    db = shared_pg_server().create_database("secured_" + std::to_string(++n));
    std::ofstream{dir + "/hs256.secret"} << hs256_secret;
    std::filesystem::permissions(dir + "/hs256.secret", std::filesystem::perms::owner_read);
    REQUIRE(cli({"migrate"}).code == 0);
    node = std::make_unique<node_process>(node_options{
      "secure", {}, nats.url(), db, {}, "required", {},
      "jwt_hs256_secret_file = \"" + dir + "/hs256.secret\"\njwt_issuer = \"https://idp.test\"\n"
      "jwt_audience = \"troupe\"\napi_key_cache_ttl_s = 0\n" + auth_extra});
    REQUIRE(node->wait_ready());
  }

  /// `troupe ARGS --database-url db`.
  cli_result cli(std::vector<std::string> args) {
    args.push_back("--database-url");
    args.push_back(db);
    return run_troupe(std::move(args), dir + "/cli.out");
  }

  /// A new API key of `tenant`/`user`, as `troupe apikey create` prints it.
  api_key create_key(const std::string& tenant, const std::string& user) {
    auto created = cli({"apikey", "create", "--tenant", tenant, "--user", user});
    REQUIRE(created.code == 0);
    return {value_after(created.output, "key id:"), value_after(created.output, "api key:")};
  }

  http_response send(const std::string& method, const std::string& path,
                     std::vector<std::string> headers, const std::string& body = {}) {
    if (!body.empty())
      headers.push_back("Content-Type: application/json");
    return http_send({method, node->gateway(path), std::move(headers), body, 10'000});
  }

private:
  static std::string value_after(const std::string& text, const std::string& label) {
    auto at = text.find(label);
    REQUIRE(at != std::string::npos);
    auto start = text.find_first_not_of(' ', at + label.size());
    return text.substr(start, text.find('\n', start) - start);
  }
};

} // namespace troupe::test
