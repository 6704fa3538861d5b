#pragma once
/// The PostgreSQL session of one store worker: opened on first use and
/// reopened after it broke, so a worker outlives a database restart.
#include <caf/expected.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "storage/connection.hpp"

namespace troupe::storage {

class lazy_connection {
public:
  lazy_connection(std::string url, std::chrono::seconds connect_timeout)
    : url_(std::move(url)), connect_timeout_(connect_timeout) {}

  /// The open session, or why there is none (blocks while connecting).
  caf::expected<connection*> get() {
    if (conn_ && conn_->broken())
      conn_.reset();
    if (!conn_) {
      auto opened = connection::open(url_, connect_timeout_);
      if (!opened)
        return opened.error();
      conn_.emplace(std::move(*opened));
    }
    return &*conn_;
  }

private:
  std::string url_;
  std::chrono::seconds connect_timeout_;
  std::optional<connection> conn_;
};

} // namespace troupe::storage
