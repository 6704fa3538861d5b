#pragma once
/// `troupe chat`: an interactive chat with a running node's gateway in the
/// terminal. Tokens are printed as they stream in; `/new`, `/open ID`,
/// `/sessions`, `/history`, `/help` and `/quit` steer it; errors go to stderr
/// with the gateway's stable code. Reads lines from stdin, so it also runs
/// with piped input (prompts are shown only on a terminal).
#include <CLI/App.hpp>

namespace troupe::cli {

/// Adds the `chat` subcommand to `app`; it runs from its CLI11 callback and
/// leaves through CLI::RuntimeError carrying its exit code: 0, or 1 when a
/// turn or command failed.
void add_chat_command(CLI::App& app);

} // namespace troupe::cli
