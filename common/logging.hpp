#pragma once
/// One named spdlog logger per subsystem ("bus", "storage", "gateway",
/// "session", "inference", "node", ...), all sharing one sink and one format.
#include <memory>
#include <spdlog/spdlog.h>
#include <string>

namespace troupe::log {

enum class format { text, json };

/// Sets level ("trace".."critical", "off") and format for every logger,
/// existing and future. Returns false on an unknown level name.
bool configure(const std::string& level, format fmt);

/// The logger for `subsystem`, created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& subsystem);

} // namespace troupe::log
