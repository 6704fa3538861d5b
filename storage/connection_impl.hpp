#pragma once
/// Internal to storage/: the libpqxx side of `connection` and the one place
/// where pqxx exceptions become storage errors. Not for other components.
#include <pqxx/pqxx>
#include <string>

#include "storage/connection.hpp"
#include "storage/errc.hpp"

namespace troupe::storage {

/// Server notices ("relation already exists, skipping") go to the storage
/// logger instead of libpqxx's default of stderr.
class notice_logger final : public pqxx::errorhandler {
public:
  explicit notice_logger(pqxx::connection_base& c) : pqxx::errorhandler(c) {}
  bool operator()(const char msg[]) noexcept override;
};

struct connection::impl {
  impl(const std::string& conninfo_text, std::string ep, std::string pw)
      : conn(conninfo_text), endpoint(std::move(ep)), password(std::move(pw)) {}
  pqxx::connection conn;
  notice_logger notices{conn}; // after conn: unregisters before conn closes
  std::string endpoint;
  std::string password;
  bool broken = false;
};

/// Call inside a `catch`: the exception in flight as a storage error.
/// A lost session (or one libpq reports closed) marks `c` broken and gives
/// errc::unreachable; an SQL error gives `sql_code` with `what` in front of
/// PostgreSQL's message; anything else gives errc::query_failed.
caf::error current_error(connection::impl& c, errc sql_code, const std::string& what);

} // namespace troupe::storage
