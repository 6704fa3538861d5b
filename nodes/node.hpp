#pragma once
/// `troupe node`: composes the configured roles into a running node and runs
/// it until SIGINT/SIGTERM (clean drain, exit 0) or a fatal failure
/// (non-zero exit with the reason logged).
#include "config/node_config.hpp"

namespace troupe::node {

/// Runs the node in the calling thread; returns the process exit code.
/// Call `block_shutdown_signals()` first, before any thread exists.
int run_node(const config::node_config& cfg);

/// Blocks SIGINT and SIGTERM in the calling thread (and every thread it
/// starts later) so that run_node receives them synchronously.
void block_shutdown_signals();

} // namespace troupe::node
