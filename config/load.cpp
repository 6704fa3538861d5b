#include "config/load.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "config/detail/checks.hpp"
#include "config/detail/cross_checks.hpp"
#include "config/detail/load_state.hpp"
#include "config/detail/read_env.hpp"
#include "config/detail/read_toml.hpp"

namespace troupe::config {

namespace {

using detail::load_state;
using detail::position;

/// A node config is a few kilobytes; a bigger "config" is the wrong file
/// (or a device that never ends), not something to parse.
constexpr std::uintmax_t max_file_bytes = 1 << 20;

/// The file's text, or why it cannot be had (E008).
struct file_text {
  std::optional<std::string> text;
  std::string why;
};

file_text read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    return {std::nullopt, ec ? ec.message() : std::string{"no such file"}};
  if (fs::is_directory(st))
    return {std::nullopt, "it is a directory"};
  if (!fs::is_regular_file(st))
    return {std::nullopt, "it is not a regular file"};
  auto size = fs::file_size(path, ec);
  if (ec)
    return {std::nullopt, ec.message()};
  if (size > max_file_bytes)
    return {std::nullopt, "it is larger than 1 MiB (" + std::to_string(size) + " bytes)"};
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {std::nullopt, std::generic_category().message(errno)};
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad())
    return {std::nullopt, "read error"};
  return {buf.str(), {}};
}

/// The one pass behind every entry point: `text` is nullopt with no file;
/// `unreadable` says why a named file could not be read.
load_result load(std::optional<std::string_view> text, const std::string& source,
                 std::string base_dir, const env_map& env, const std::string& unreadable) {
  load_state state;
  state.base_dir = std::move(base_dir);
  try {
    bool file_ok = unreadable.empty();
    if (!file_ok)
      state.problems.add(codes::unreadable_file,
                         "cannot read " + detail::printable(source) + ": " + unreadable,
                         position{detail::origin::file, 0, 0, source});
    else if (text)
      file_ok = detail::read_toml(*text, source, state);
    detail::read_env(env, state);
    // A file that could not be had assigned nothing: checking the merged
    // values would report the defaults, not the operator's intent.
    if (file_ok)
      detail::check_consistency(state, detail::nowhere(source));
  } catch (const std::exception& e) {
    // Only allocation failures and the like get here; the caller still gets
    // a result it can print instead of an exception at its edge.
    state.problems.add(codes::unreadable_file,
                       "configuration could not be loaded: " + std::string{e.what()},
                       detail::nowhere(source));
  }
  return load_result{std::move(state.config), state.problems.take_sorted()};
}

} // namespace

load_result load_file(const std::string& path, const env_map& env) {
  try {
    auto file = read_file(path);
    auto base = std::filesystem::path{path}.parent_path().string();
    if (!file.text)
      return load(std::nullopt, path, base, env, file.why);
    return load(std::string_view{*file.text}, path, base, env, {});
  } catch (const std::exception& e) {
    return load(std::nullopt, path, {}, env, e.what());
  }
}

load_result load_string(std::string_view toml, const std::string& source_name, const env_map& env) {
  return load(toml, source_name, {}, env, {});
}

load_result defaults(const env_map& env) {
  return load(std::nullopt, {}, {}, env, {});
}

} // namespace troupe::config
