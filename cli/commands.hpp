#pragma once
/// The subcommands of the `troupe` executable; each returns an exit code.
#include <optional>
#include <string>

#include "config/node_config.hpp"

namespace troupe::cli {

int cmd_node(const std::string& config_file);
int cmd_config_validate(const std::string& file);
int cmd_migrate(const std::string& config_file, const std::string& database_url);

/// The config of a command that works on the database (`migrate`, `provider`,
/// `role`): the file or defaults, TROUPE_* variables, `database_url` over
/// both when given. Prints every problem and returns nullopt when invalid.
std::optional<config::node_config> load_database_config(const std::string& config_file,
                                                        const std::string& database_url);

} // namespace troupe::cli
