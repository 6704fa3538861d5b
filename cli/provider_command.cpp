#include "cli/provider_command.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "actors/inference/base_url.hpp"
#include "actors/inference/keyring.hpp"
#include "actors/inference/model_resolver.hpp"
#include "cli/commands.hpp"
#include "nodes/error_categories.hpp"
#include "storage/errc.hpp"
#include "storage/provider_store.hpp"

namespace troupe::cli {

namespace {

/// Ends a command with exit code 1; an empty message means the reason was
/// printed already (config problems).
struct command_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& message) { throw command_error{message}; }

struct database_args {
  std::string config_file;
  std::string database_url;
};

struct provider_args {
  database_args db;
  std::string name;
  std::string base_url;
  std::vector<std::string> models;
  std::string key_file;
  std::string key_env;
  bool key_stdin = false;
  std::string master_key;
};

struct role_args {
  database_args db;
  std::string role;
  std::string model;
};

constexpr size_t max_key_bytes = 64 * 1024;
constexpr const char* name_rule = "use 1 to 64 of a-z, 0-9, '_' and '-'";

config::node_config config_of(const database_args& db) {
  auto cfg = load_database_config(db.config_file, db.database_url);
  if (!cfg)
    fail("");
  return std::move(*cfg);
}

storage::connection connect(const config::node_config& cfg) {
  auto conn = storage::connection::open(cfg.database.url, cfg.database.connect_timeout);
  if (!conn)
    fail(node::describe(conn.error()));
  return std::move(*conn);
}

[[noreturn]] void store_failed(const caf::error& err) {
  auto hint = storage::is(err, storage::errc::query_failed)
                ? " (is the schema current? run troupe migrate)"
                : "";
  fail(node::describe(err) + hint);
}

template <class T>
T checked(caf::expected<T> result) {
  if (!result)
    store_failed(result.error());
  return std::move(*result);
}

std::string read_all(std::istream& in, const std::string& source) {
  std::string out;
  char buf[4096];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > max_key_bytes)
      fail(source + " holds more than 64 KiB: not an API key");
  }
  if (in.bad())
    fail("cannot read " + source);
  return out;
}

/// The key without surrounding whitespace (files end in a newline); inner
/// spaces or control characters would break the Authorization header.
std::string checked_key(std::string key, const std::string& source) {
  auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  auto first = std::find_if_not(key.begin(), key.end(), blank);
  auto last = std::find_if_not(key.rbegin(), key.rend(), blank).base();
  std::string trimmed = first < last ? std::string{first, last} : std::string{};
  OPENSSL_cleanse(key.data(), key.size());
  if (trimmed.empty())
    fail(source + " holds no API key");
  if (std::any_of(trimmed.begin(), trimmed.end(),
                  [](unsigned char c) { return c <= ' ' || c >= 0x7f; })) {
    OPENSSL_cleanse(trimmed.data(), trimmed.size());
    fail(source + " holds spaces or control characters inside the key");
  }
  return trimmed;
}

/// The plaintext key from the one source given, or nullopt for none.
std::optional<std::string> api_key(const provider_args& a) {
  if (!a.key_file.empty()) {
    std::ifstream in{a.key_file, std::ios::binary};
    if (!in)
      fail("cannot open --api-key-file " + a.key_file + ": " + std::strerror(errno));
    return checked_key(read_all(in, a.key_file), a.key_file);
  }
  if (!a.key_env.empty()) {
    const char* value = std::getenv(a.key_env.c_str());
    if (value == nullptr || *value == '\0')
      fail("variable " + a.key_env + " (--api-key-env) is not set or empty");
    return checked_key(value, "variable " + a.key_env);
  }
  if (a.key_stdin)
    return checked_key(read_all(std::cin, "stdin"), "stdin");
  return std::nullopt;
}

std::string sealed_key(const provider_args& a, const config::node_config& cfg) {
  auto key = api_key(a);
  if (!key)
    return {};
  std::string path = !a.master_key.empty()                     ? a.master_key
                     : !cfg.inference.master_key_file.empty() ? cfg.inference.master_key_file
                                                               : std::string{inference::default_master_key_file};
  auto ring = inference::keyring::open_or_create(path);
  auto sealed = ring ? ring->seal(*key, a.name) : caf::expected<std::string>{ring.error()};
  OPENSSL_cleanse(key->data(), key->size());
  if (!sealed)
    fail(node::describe(sealed.error()));
  return std::move(*sealed);
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

/// Rows under a header, columns padded to their widest cell.
void print_table(std::vector<std::vector<std::string>> rows) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += i + 1 < row.size() ? row[i] + std::string(width[i] - row[i].size() + 2, ' ') : row[i];
    std::cout << line << "\n";
  }
}

void provider_add(const provider_args& a) {
  if (!storage::valid_registry_name(a.name))
    fail("invalid provider name '" + a.name + "': " + name_rule);
  auto url = inference::parse_base_url(a.base_url);
  if (!url)
    fail(node::describe(url.error()));
  std::vector<std::string> models;
  for (const auto& m : a.models) {
    if (!storage::valid_model_id(m))
      fail("invalid model id '" + m + "' in --models: 1 to 256 printable characters, no spaces");
    if (std::find(models.begin(), models.end(), m) == models.end())
      models.push_back(m);
  }
  auto cfg = config_of(a.db);
  storage::provider_record p;
  p.name = a.name;
  p.base_url = url->url;
  p.models = std::move(models);
  p.api_key_sealed = sealed_key(a, cfg);
  auto conn = connect(cfg);
  auto stored = checked(storage::upsert_provider(conn, p));
  std::cout << "provider " << stored.name << ": " << stored.base_url << ", models: "
            << (stored.models.empty() ? "any, asked for as " + stored.name + "/MODEL"
                                      : joined(stored.models))
            << ", API key: " << (stored.has_key() ? "stored (sealed)" : "none") << "\n";
  if (!stored.has_key() && !url->loopback)
    std::cerr << "warning: provider " << stored.name
              << " has no API key; requests to it fail with provider_key_missing until one is "
                 "stored\n";
}

void provider_list(const database_args& db) {
  auto conn = connect(config_of(db));
  auto providers = checked(storage::list_providers(conn));
  if (providers.empty()) {
    std::cout << "no providers: 'default' answers with the built-in dev model "
              << inference::dev_model_id << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows{{"NAME", "KIND", "KEY", "BASE URL", "MODELS"}};
  for (const auto& p : providers)
    rows.push_back({p.name, p.kind, p.has_key() ? "set" : "none", p.base_url,
                    p.models.empty() ? "(any)" : joined(p.models)});
  print_table(std::move(rows));
}

void provider_remove(const provider_args& a) {
  auto conn = connect(config_of(a.db));
  auto removal = checked(storage::remove_provider(conn, a.name));
  if (!removal.removed)
    fail("no provider named '" + a.name + "'");
  std::cout << "removed provider " << a.name << "\n";
  if (!removal.dangling_roles.empty())
    std::cerr << "warning: these roles named its models and now resolve to nothing: "
              << joined(removal.dangling_roles) << " (troupe role set ROLE MODEL)\n";
}

void role_set(const role_args& a) {
  if (!storage::valid_registry_name(a.role))
    fail("invalid role name '" + a.role + "': " + name_rule);
  if (!storage::valid_model_id(a.model))
    fail("invalid model '" + a.model + "': a model id or provider/model, no spaces");
  auto conn = connect(config_of(a.db));
  if (auto err = storage::set_role(conn, a.role, a.model))
    store_failed(err);
  std::cout << "role " << a.role << " -> " << a.model << "\n";
}

void role_list(const database_args& db) {
  auto conn = connect(config_of(db));
  auto registry = checked(storage::load_registry(conn));
  std::vector<std::vector<std::string>> rows{{"ROLE", "MODEL"}};
  for (const auto& r : registry.roles)
    rows.push_back({r.role, r.model});
  for (auto known : inference::known_roles) {
    auto set = std::any_of(registry.roles.begin(), registry.roles.end(),
                           [&](const storage::role_record& r) { return r.role == known; });
    if (set)
      continue;
    bool dev = known == "default" && registry.providers.empty();
    rows.push_back({std::string{known},
                    dev ? std::string{inference::dev_model_id} + " (built-in, no provider yet)"
                        : "(not set)"});
  }
  print_table(std::move(rows));
}

void role_remove(const role_args& a) {
  auto conn = connect(config_of(a.db));
  if (!checked(storage::remove_role(conn, a.role)))
    fail("no role named '" + a.role + "'");
  std::cout << "removed role " << a.role << "\n";
}

void add_database_options(CLI::App* cmd, database_args& db) {
  cmd->add_option("-c,--config", db.config_file, "Node config file (TOML)");
  cmd->add_option("--database-url", db.database_url,
                  "PostgreSQL URL (overrides the config and TROUPE_DATABASE_URL)");
}

/// Runs `body` as the callback of `cmd`; see add_registry_commands.
template <class Body>
void run_as(CLI::App* cmd, std::string label, Body body) {
  cmd->callback([label = std::move(label), body = std::move(body)] {
    int rc = 0;
    try {
      body();
    } catch (const command_error& e) {
      if (*e.what() != '\0')
        std::cerr << "troupe " << label << ": " << e.what() << "\n";
      rc = 1;
    }
    throw CLI::RuntimeError(rc);
  });
}

void add_provider_commands(CLI::App& app) {
  auto* provider = app.add_subcommand("provider", "Manage model providers (OpenAI-compatible)");
  provider->require_subcommand(1);
  auto a = std::make_shared<provider_args>();

  auto* add = provider->add_subcommand("add", "Add a provider, or replace one of the same name");
  add->add_option("name", a->name, "Provider name (a-z, 0-9, '_', '-')")->required();
  add->add_option("--base-url", a->base_url, "e.g. https://api.openai.com/v1")->required();
  add->add_option("--models", a->models, "Model ids it serves, comma-separated (none: any)")
    ->delimiter(',');
  auto* file = add->add_option("--api-key-file", a->key_file, "Read the API key from this file");
  auto* env = add->add_option("--api-key-env", a->key_env, "Read the API key from this variable");
  auto* in = add->add_flag("--api-key-stdin", a->key_stdin, "Read the API key from stdin");
  file->excludes(env)->excludes(in);
  env->excludes(in);
  add->add_option("--master-key", a->master_key,
                  "Master key file (default: inference.master_key_file, else .troupe/master.key)");
  add_database_options(add, a->db);
  run_as(add, "provider add", [a] { provider_add(*a); });

  auto* list = provider->add_subcommand("list", "List providers (never their keys)");
  add_database_options(list, a->db);
  run_as(list, "provider list", [a] { provider_list(a->db); });

  auto* remove = provider->add_subcommand("remove", "Remove a provider and its stored key");
  remove->add_option("name", a->name, "Provider name")->required();
  add_database_options(remove, a->db);
  run_as(remove, "provider remove", [a] { provider_remove(*a); });
}

void add_role_commands(CLI::App& app) {
  auto* role = app.add_subcommand("role", "Point role aliases (default, title, ...) at models");
  role->require_subcommand(1);
  auto a = std::make_shared<role_args>();

  auto* set = role->add_subcommand("set", "Point a role at a model id or provider/model");
  set->add_option("role", a->role, "Role name, e.g. default, title, guardrail")->required();
  set->add_option("model", a->model, "A model id or provider/model")->required();
  add_database_options(set, a->db);
  run_as(set, "role set", [a] { role_set(*a); });

  auto* list = role->add_subcommand("list", "List roles and what they name");
  add_database_options(list, a->db);
  run_as(list, "role list", [a] { role_list(a->db); });

  auto* remove = role->add_subcommand("remove", "Remove a role alias");
  remove->add_option("role", a->role, "Role name")->required();
  add_database_options(remove, a->db);
  run_as(remove, "role remove", [a] { role_remove(*a); });
}

} // namespace

void add_registry_commands(CLI::App& app) {
  add_provider_commands(app);
  add_role_commands(app);
}

} // namespace troupe::cli
