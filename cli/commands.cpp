#include "cli/commands.hpp"

#include <iostream>

#include "config/load.hpp"
#include "nodes/error_categories.hpp"
#include "nodes/node.hpp"
#include "storage/migrations.hpp"

namespace troupe::cli {

namespace {

config::load_result load(const std::string& file) {
  auto env = config::troupe_environment();
  return file.empty() ? config::defaults(env) : config::load_file(file, env);
}

void print_problems(const config::load_result& r) {
  for (const auto& p : r.problems)
    std::cerr << config::describe(p) << "\n";
}

} // namespace

int cmd_node(const std::string& config_file) {
  node::block_shutdown_signals();
  auto loaded = load(config_file);
  if (!loaded.ok()) {
    print_problems(loaded);
    std::cerr << "troupe: refusing to start: " << loaded.problems.size()
              << " config problem(s)\n";
    return 1;
  }
  return node::run_node(loaded.config);
}

int cmd_config_validate(const std::string& file) {
  auto loaded = config::load_file(file, config::troupe_environment());
  if (!loaded.ok()) {
    print_problems(loaded);
    std::cerr << file << ": " << loaded.problems.size() << " problem(s)\n";
    return 1;
  }
  std::cout << file << ": ok\n";
  return 0;
}

std::optional<config::node_config> load_database_config(const std::string& config_file,
                                                        const std::string& database_url) {
  auto env = config::troupe_environment();
  if (!database_url.empty())
    env["TROUPE_DATABASE_URL"] = database_url;
  auto loaded = config_file.empty() ? config::defaults(env) : config::load_file(config_file, env);
  if (!loaded.ok()) {
    print_problems(loaded);
    return std::nullopt;
  }
  return std::move(loaded.config);
}

int cmd_migrate(const std::string& config_file, const std::string& database_url) {
  auto cfg = load_database_config(config_file, database_url);
  if (!cfg)
    return 1;
  auto report = storage::migrate(cfg->database.url, storage::builtin_migrations(),
                                 std::chrono::seconds{30});
  if (!report) {
    std::cerr << "troupe migrate: " << node::describe(report.error()) << "\n";
    return 1;
  }
  for (int v : report->applied)
    std::cout << "applied migration " << v << "\n";
  std::cout << "schema at version " << report->schema_version << "\n";
  return 0;
}

} // namespace troupe::cli
