#include "common/logging.hpp"

#include <mutex>
#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace troupe::log {

namespace {

std::mutex mtx;
format current_format = format::text;
spdlog::level::level_enum current_level = spdlog::level::info;

// spdlog 1.10 cannot escape a message for JSON; `%*` renders the message as
// a JSON string literal through nlohmann::json, so a quote or newline in a
// log line never breaks a JSON consumer.
class json_message_flag : public spdlog::custom_flag_formatter {
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto quoted = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

constexpr const char* json_pattern =
  R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"%n","pid":%P,"msg":%*})";
constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";

void apply(spdlog::logger& lg) {
  lg.set_level(current_level);
  if (current_format == format::json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<json_message_flag>('*').set_pattern(json_pattern);
    lg.set_formatter(std::move(f));
  } else {
    lg.set_pattern(text_pattern, spdlog::pattern_time_type::utc);
  }
}

} // namespace

bool configure(const std::string& level, format fmt) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    return false;
  std::lock_guard<std::mutex> guard{mtx};
  current_level = lvl;
  current_format = fmt;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& lg) { apply(*lg); });
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& subsystem) {
  std::lock_guard<std::mutex> guard{mtx};
  if (auto lg = spdlog::get(subsystem))
    return lg;
  auto lg = spdlog::stderr_color_mt(subsystem);
  apply(*lg);
  return lg;
}

} // namespace troupe::log
