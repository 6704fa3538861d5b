#pragma once
/// `troupe provider add|list|remove` and `troupe role set|list|remove`: the
/// model provider registry (storage/provider_store.hpp) from the command line.
/// An API key is read from a file, a variable or stdin, never from argv
/// (visible in ps), and stored sealed under the master key.
#include <CLI/App.hpp>

namespace troupe::cli {

/// Adds the `provider` and `role` subcommands to `app`. Each runs from its
/// CLI11 callback and leaves through CLI::RuntimeError carrying its exit
/// code (0 on success), which CLI11_PARSE returns from main.
void add_registry_commands(CLI::App& app);

} // namespace troupe::cli
