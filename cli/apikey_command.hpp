#pragma once
/// `troupe apikey create|list|revoke`: the gateway's API keys
/// (storage/api_key_store.hpp) from the command line. A key is printed once,
/// when created; list never shows secrets (the store has none). Every
/// subcommand needs a migrated database and says so (`troupe migrate`).
#include <CLI/App.hpp>

namespace troupe::cli {

/// Adds the `apikey` subcommand to `app`. Each leaf runs from its CLI11
/// callback and leaves through CLI::RuntimeError carrying its exit code
/// (0 on success), which CLI11_PARSE returns from main.
void add_apikey_commands(CLI::App& app);

} // namespace troupe::cli
