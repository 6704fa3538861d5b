#pragma once
/// The subcommands of the `troupe` executable; each returns an exit code.
#include <string>

namespace troupe::node {

int cmd_node(const std::string& config_file);
int cmd_config_validate(const std::string& file);
int cmd_migrate(const std::string& config_file, const std::string& database_url);

} // namespace troupe::node
