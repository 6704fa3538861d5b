#include "tests/support/pg_server.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <pwd.h>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include "tests/support/free_port.hpp"

namespace troupe::test {

namespace {

using namespace std::chrono_literals;

const std::string pg_bin = "/usr/lib/postgresql/15/bin";

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// As `user` (empty: as we are), logging to `log`.
child_options as_owner(const std::string& user, const std::string& log) {
  child_options o;
  o.log_file = log;
  o.user = user;
  return o;
}

/// Runs a PostgreSQL tool to its end; true when it exited 0.
bool run_tool(std::vector<std::string> argv, const std::string& log, const std::string& user) {
  child_process p{std::move(argv), as_owner(user, log)};
  return p.wait_for(120s) == 0;
}

void make_dir(const std::string& path, std::filesystem::perms perms, const std::string& owner) {
  std::filesystem::create_directory(path);
  std::filesystem::permissions(path, perms);
  if (owner.empty())
    return;
  passwd* pw = ::getpwnam(owner.c_str());
  if (pw == nullptr || ::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("pg_server: cannot give " + path + " to " + owner);
}

} // namespace

pg_server::pg_server() : owner_(::geteuid() == 0 ? "postgres" : "") {
  char tmpl[] = "/tmp/troupe-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("pg_server: mkdtemp failed");
  dir_ = tmpl;
  using std::filesystem::perms;
  std::filesystem::permissions(dir_, perms::owner_all | perms::group_exec | perms::others_exec);
  make_dir(dir_ + "/data", perms::owner_all, owner_);
  make_dir(dir_ + "/sock", perms::owner_all | perms::group_exec | perms::others_exec, owner_);
  if (!run_tool({pg_bin + "/initdb", "-D", dir_ + "/data", "-U", "postgres", "-A", "trust", "-E",
                 "UTF8", "--locale=C.UTF-8", "--no-sync"},
                dir_ + "/initdb.log", owner_))
    throw std::runtime_error("pg_server: initdb failed, see " + dir_ + "/initdb.log");
  for (int attempt = 0;; ++attempt) {
    port_ = free_port();
    if (launch())
      return;
    if (attempt == 20)
      throw std::runtime_error("pg_server: every port tried was taken, see " + dir_
                               + "/server.log");
  }
}

pg_server::~pg_server() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool pg_server::launch() {
  auto log = dir_ + "/server.log";
  auto earlier = read_file(log).size(); // the log is appended to, attempt after attempt
  auto opts = as_owner(owner_, log);
  opts.death_signal = SIGQUIT; // immediate shutdown, which removes its shared memory
  postmaster_ = std::make_unique<child_process>(
      std::vector<std::string>{pg_bin + "/postgres", "-D", dir_ + "/data", "-p",
                               std::to_string(port_), "-k", dir_ + "/sock", "-c",
                               "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                               "synchronous_commit=off", "-c", "full_page_writes=off"},
      std::move(opts));
  bool ended = wait_until(60s, [&] { return accepting() || !postmaster_->running(); });
  if (ended && accepting())
    return true;
  postmaster_.reset();
  if (ended && read_file(log).find("Address already in use", earlier) != std::string::npos)
    return false;
  throw std::runtime_error("pg_server: start on port " + std::to_string(port_) + " failed, see "
                           + log);
}

/// Our postmaster says it accepts connections: postmaster.pid names its
/// process and, on its eighth line, "ready".
bool pg_server::accepting() const {
  std::istringstream lines{read_file(dir_ + "/data/postmaster.pid")};
  std::string line;
  std::vector<std::string> fields;
  while (std::getline(lines, line))
    fields.push_back(line);
  return fields.size() >= 8 && fields[0] == std::to_string(postmaster_->pid())
         && fields[7].starts_with("ready");
}

void pg_server::stop() {
  if (!postmaster_)
    return;
  // Immediate shutdown: the backends are told to quit, shared memory goes.
  postmaster_->signal(SIGQUIT);
  postmaster_->wait_for(30s);
  postmaster_.reset(); // SIGKILL to the group if it did not end
}

void pg_server::start() {
  if (postmaster_)
    return;
  // Ours a moment ago: taken meanwhile only by bad luck, which is an error.
  if (!launch())
    throw std::runtime_error("pg_server: port " + std::to_string(port_) + " was taken meanwhile");
}

std::string pg_server::create_database(const std::string& name) {
  if (!run_tool({pg_bin + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                 "postgres", name},
                dir_ + "/createdb.log", owner_))
    throw std::runtime_error("pg_server: createdb " + name + " failed, see " + dir_
                             + "/createdb.log");
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

pg_server& shared_pg_server() {
  static pg_server server;
  return server;
}

} // namespace troupe::test
