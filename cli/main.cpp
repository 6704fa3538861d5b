// The `troupe` executable: one binary, one subcommand per job.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/apikey_command.hpp"
#include "cli/chat_command.hpp"
#include "cli/commands.hpp"
#include "cli/provider_command.hpp"
#include "nodes/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Troupe: a distributed agent platform built as an actor system"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string{troupe::node::version});

  std::string node_config;
  auto* node = app.add_subcommand("node", "Run a node with the roles its config names");
  node->add_option("-c,--config", node_config,
                   "Node config file (TOML); without one, defaults and TROUPE_* variables apply");

  auto* config = app.add_subcommand("config", "Work with node config files");
  config->require_subcommand(1);
  std::string validate_file;
  auto* validate = config->add_subcommand("validate", "Report every problem in a config file");
  validate->add_option("file", validate_file, "The config file")->required();

  std::string migrate_config;
  std::string migrate_url;
  auto* migrate = app.add_subcommand("migrate", "Apply the database migrations and exit");
  migrate->add_option("-c,--config", migrate_config, "Node config file (TOML)");
  migrate->add_option("--database-url", migrate_url,
                      "PostgreSQL URL (overrides the config and TROUPE_DATABASE_URL)");

  troupe::cli::add_apikey_commands(app);
  troupe::cli::add_registry_commands(app);
  troupe::cli::add_chat_command(app);

  CLI11_PARSE(app, argc, argv);

  if (node->parsed())
    return troupe::cli::cmd_node(node_config);
  if (validate->parsed())
    return troupe::cli::cmd_config_validate(validate_file);
  if (migrate->parsed())
    return troupe::cli::cmd_migrate(migrate_config, migrate_url);
  return 2;
}
