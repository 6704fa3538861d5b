#include "storage/connection.hpp"

#include "common/logging.hpp"
#include "storage/connection_impl.hpp"
#include "storage/conninfo.hpp"

namespace troupe::storage {

bool notice_logger::operator()(const char msg[]) noexcept {
  try {
    auto text = one_line(msg);
    if (text.rfind("WARNING:", 0) == 0)
      log::get("storage")->warn("postgres: {}", text);
    else
      log::get("storage")->debug("postgres: {}", text);
  } catch (...) {
    // A notice is never worth an exception escaping libpq's callback.
  }
  return false;
}

caf::error current_error(connection::impl& c, errc sql_code, const std::string& what) {
  auto lost = [&](const std::string& msg) {
    c.broken = true;
    return make_error(errc::unreachable, "lost the connection to PostgreSQL at " + c.endpoint + " ("
                                             + what + "): " + one_line(redact(msg, c.password)));
  };
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return lost(e.what());
  } catch (const pqxx::sql_error& e) {
    if (!c.conn.is_open())
      return lost(e.what());
    return make_error(sql_code, what + ": " + one_line(redact(e.what(), c.password)));
  } catch (const std::exception& e) {
    if (!c.conn.is_open())
      return lost(e.what());
    return make_error(errc::query_failed, what + ": " + one_line(redact(e.what(), c.password)));
  } catch (...) {
    return make_error(errc::unknown, what + ": an unknown exception");
  }
}

caf::expected<connection> connection::open(const std::string& url,
                                           std::chrono::seconds connect_timeout) {
  auto info = parse_conninfo(url, connect_timeout);
  if (!info)
    return info.error();
  try {
    return connection{std::make_unique<impl>(info->text, info->endpoint, info->password)};
  } catch (const std::exception& e) {
    return make_error(errc::unreachable, "cannot reach PostgreSQL at " + info->endpoint + ": "
                                             + one_line(redact(e.what(), info->password)));
  } catch (...) {
    return make_error(errc::unreachable, "cannot reach PostgreSQL at " + info->endpoint);
  }
}

connection::connection(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;
connection::~connection() = default;

const std::string& connection::endpoint() const noexcept {
  return impl_->endpoint;
}

bool connection::broken() const noexcept {
  return impl_->broken;
}

void connection::notice_closed() noexcept {
  if (impl_->broken)
    return;
  try {
    // PQconsumeInput fails on a closed socket. A server that ended the
    // session sent a FATAL message first: the first read takes that (libpq
    // hands it to the notice processor), the second meets the end.
    for (int read = 0; read < 2 && !impl_->broken; ++read) {
      impl_->conn.get_notifs();
      if (!impl_->conn.is_open())
        impl_->broken = true;
    }
  } catch (...) {
    impl_->broken = true;
  }
}

caf::error connection::ping() {
  if (impl_->broken)
    return make_error(errc::unreachable,
                      "the connection to PostgreSQL at " + impl_->endpoint + " was lost earlier");
  try {
    pqxx::nontransaction tx{impl_->conn};
    tx.exec("SELECT 1");
    return caf::none;
  } catch (...) {
    auto err = current_error(*impl_, errc::query_failed, "ping");
    // A ping that fails for any reason means "not usable now".
    if (!is(err, errc::unreachable)) {
      impl_->broken = true;
      return make_error(errc::unreachable, message_of(err));
    }
    return err;
  }
}

} // namespace troupe::storage
