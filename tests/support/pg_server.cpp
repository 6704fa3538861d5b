#include "tests/support/pg_server.hpp"

#include <filesystem>
#include <stdexcept>
#include <unistd.h>

#include "tests/support/free_port.hpp"

namespace troupe::test {

namespace {

constexpr const char* pg_bin = "/usr/lib/postgresql/15/bin";

int shell(const std::string& cmd) {
  return std::system(cmd.c_str());
}

} // namespace

std::string pg_server::run_as_owner(const std::string& cmd) const {
  return ::geteuid() == 0 ? "runuser -u postgres -- " + cmd : cmd;
}

pg_server::pg_server() : port_(free_port()) {
  char tmpl[] = "/tmp/troupe-pg-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all
                                       | std::filesystem::perms::group_exec
                                       | std::filesystem::perms::others_exec);
  std::string owner = ::geteuid() == 0 ? "postgres" : "$(id -un)";
  std::string data = dir_ + "/data";
  std::string log = dir_ + "/server.log";
  if (shell("install -d -m 700 -o " + owner + " " + data + " && install -d -o " + owner + " "
            + dir_ + "/sock && touch " + log + " && chown " + owner + " " + log)
      != 0)
    throw std::runtime_error("pg_server: cannot prepare " + dir_);
  if (shell(run_as_owner(std::string(pg_bin) + "/initdb -D " + data
                         + " -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"
                         + dir_ + "/initdb.log 2>&1"))
      != 0)
    throw std::runtime_error("pg_server: initdb failed, see " + dir_ + "/initdb.log");
  if (shell(run_as_owner(std::string(pg_bin) + "/pg_ctl -D " + data + " -l " + log
                         + " -w -t 30 start -o \"-p " + std::to_string(port_) + " -k " + dir_
                         + "/sock -c listen_addresses=127.0.0.1 -c fsync=off"
                           " -c synchronous_commit=off -c full_page_writes=off\" >/dev/null"))
      != 0)
    throw std::runtime_error("pg_server: start failed, see " + log);
  running_ = true;
}

pg_server::~pg_server() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void pg_server::stop() {
  if (!running_)
    return;
  shell(run_as_owner(std::string(pg_bin) + "/pg_ctl -D " + dir_
                     + "/data -m immediate -w stop >/dev/null 2>&1"));
  running_ = false;
}

std::string pg_server::create_database(const std::string& name) {
  if (shell(run_as_owner(std::string(pg_bin) + "/createdb -h 127.0.0.1 -p " + std::to_string(port_)
                         + " -U postgres " + name))
      != 0)
    throw std::runtime_error("pg_server: createdb " + name + " failed");
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
}

pg_server& shared_pg_server() {
  static pg_server server;
  return server;
}

} // namespace troupe::test
