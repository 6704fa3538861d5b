#include "cli/apikey_command.hpp"

#include <ctime>
#include <iostream>
#include <memory>
#include <optional>

#include "actors/gateway/identity/api_key.hpp"
#include "cli/commands.hpp"
#include "nodes/error_categories.hpp"
#include "storage/api_key_store.hpp"
#include "storage/migrations.hpp"

namespace troupe::cli {

namespace {

struct apikey_args {
  std::string config_file;
  std::string database_url;
  std::string tenant;
  std::string user;
  std::string name;
  std::vector<std::string> roles;
  std::string key_id;
};

/// Prints what went wrong in `troupe apikey <command>`; gives exit code 1.
struct reporter {
  std::string command;
  int operator()(const std::string& why) const {
    std::cerr << "troupe apikey " << command << ": " << why << "\n";
    return 1;
  }
};

/// A session on a database every migration of this build was applied to.
/// Creating the table is `troupe migrate`'s job, not a side effect of this.
std::optional<storage::connection> migrated_session(const apikey_args& a, const reporter& fail) {
  auto cfg = load_database_config(a.config_file, a.database_url);
  if (!cfg)
    return std::nullopt; // the problems are printed
  auto conn = storage::connection::open(cfg->database.url, cfg->database.connect_timeout);
  if (!conn) {
    fail(node::describe(conn.error()));
    return std::nullopt;
  }
  auto schema = storage::inspect_schema(*conn, storage::builtin_migrations());
  if (!schema) {
    fail(node::describe(schema.error()));
    return std::nullopt;
  }
  if (!schema->pending.empty()) {
    fail("the database at " + conn->endpoint() + " is not migrated (schema version "
         + std::to_string(schema->schema_version) + ", this build needs "
         + std::to_string(storage::builtin_migrations().back().version)
         + "): run `troupe migrate` first");
    return std::nullopt;
  }
  return std::move(*conn);
}

/// "2026-01-31T12:00:00Z", or "-" for 0 (never).
std::string utc(int64_t unix_ms) {
  if (unix_ms == 0)
    return "-";
  std::time_t t = unix_ms / 1000;
  std::tm tm{};
  char text[32];
  if (gmtime_r(&t, &tm) == nullptr || std::strftime(text, sizeof text, "%FT%TZ", &tm) == 0)
    return "?";
  return text;
}

std::string comma_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ",") + item;
  return out.empty() ? "-" : out;
}

int create(const apikey_args& a, storage::connection& conn, const reporter& fail) {
  auto key = gateway::identity::issue_api_key(conn, a.tenant, a.user, a.name, a.roles);
  if (!key)
    return fail(node::describe(key.error()));
  std::cout << "key id:  " << key->key_id << "\napi key: " << key->full_key << std::endl;
  std::cerr << "Store the API key now: it is shown only this once (only its hash is kept).\n";
  return 0;
}

int list(const apikey_args& a, storage::connection& conn, const reporter& fail) {
  auto keys = storage::list_api_keys(conn, a.tenant);
  if (!keys)
    return fail(node::describe(keys.error()));
  // Tab-separated: readable, and `column -t` or `cut` take it as is.
  std::cout << "KEY ID\tTENANT\tUSER\tNAME\tROLES\tCREATED\tLAST USED\tREVOKED\n";
  for (const auto& k : *keys)
    std::cout << k.key_id << '\t' << k.tenant << '\t' << k.user_id << '\t'
              << (k.name.empty() ? "-" : k.name) << '\t' << comma_list(k.roles) << '\t'
              << utc(k.created_unix_ms) << '\t' << utc(k.last_used_unix_ms) << '\t'
              << utc(k.revoked_unix_ms) << '\n';
  return 0;
}

int revoke(const apikey_args& a, storage::connection& conn, const reporter& fail) {
  if (a.key_id.starts_with(gateway::identity::api_key_prefix))
    return fail("give the key id, not the key: a secret does not belong on a command line");
  auto revoked = storage::revoke_api_key(conn, a.key_id);
  if (!revoked)
    return fail(node::describe(revoked.error()));
  if (!*revoked)
    return fail("no API key with id '" + a.key_id + "'");
  std::cout << "revoked API key " << a.key_id
            << "; gateways refuse it once their key cache expires (30 s by default)\n";
  return 0;
}

using command_body = int (*)(const apikey_args&, storage::connection&, const reporter&);

/// Runs `body` on a migrated session after parsing; its result leaves main
/// as the exit code.
void run(CLI::App* cmd, std::shared_ptr<const apikey_args> a, command_body body) {
  cmd->fallthrough(); // --config and --database-url belong to `apikey`
  cmd->footer("Also takes -c,--config and --database-url (see troupe apikey --help).");
  cmd->callback([name = cmd->get_name(), a, body] {
    reporter fail{name};
    auto conn = migrated_session(*a, fail);
    throw CLI::RuntimeError(conn ? body(*a, *conn, fail) : 1);
  });
}

} // namespace

void add_apikey_commands(CLI::App& app) {
  auto* apikey = app.add_subcommand("apikey", "Manage the gateway's API keys");
  apikey->require_subcommand(1);
  auto a = std::make_shared<apikey_args>();
  apikey->add_option("-c,--config", a->config_file, "Node config file (TOML)");
  apikey->add_option("--database-url", a->database_url,
                     "PostgreSQL URL (overrides the config and TROUPE_DATABASE_URL)");

  auto* create_cmd = apikey->add_subcommand("create", "Create a key and print it, once");
  create_cmd->add_option("--tenant", a->tenant, "Tenant the key acts for")->required();
  create_cmd->add_option("--user", a->user, "User the key acts as")->required();
  create_cmd->add_option("--name", a->name, "What the key is for, e.g. ci-pipeline");
  create_cmd->add_option("--role", a->roles, "A role of the key's principal (repeatable)");
  run(create_cmd, a, create);

  auto* list_cmd = apikey->add_subcommand("list", "List keys (never their secrets)");
  list_cmd->add_option("--tenant", a->tenant, "Only this tenant's keys");
  run(list_cmd, a, list);

  auto* revoke_cmd = apikey->add_subcommand("revoke", "Revoke a key by its id");
  revoke_cmd->add_option("key_id", a->key_id, "The key id (the 12 characters after trp_)")
      ->required();
  run(revoke_cmd, a, revoke);
}

} // namespace troupe::cli
