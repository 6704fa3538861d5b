#pragma once
/// One PostgreSQL session. Every call blocks on the network: use it from a
/// `caf::detached` actor (the storage actor) or a plain thread (startup,
/// `troupe migrate`), never from a CAF scheduler worker.
///
/// Not thread-safe: one owner at a time. After errc::unreachable the session
/// is `broken()` for good; the owner drops it and opens a new one.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <chrono>
#include <memory>
#include <string>

namespace troupe::storage {

class connection {
public:
  /// Opens a session to `url` (see parse_conninfo for the URL forms and how
  /// `connect_timeout` applies). errc::invalid_url or errc::unreachable
  /// ("cannot reach PostgreSQL at host:port/db: ..."); no message holds the password.
  [[nodiscard]] static caf::expected<connection> open(const std::string& url,
                                                      std::chrono::seconds connect_timeout);

  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  ~connection();

  /// "host:port/dbname": what log lines and messages call this session.
  const std::string& endpoint() const noexcept;

  /// One round trip; errc::unreachable when the session is gone.
  [[nodiscard]] caf::error ping();

  /// True once the session was lost; every later call fails fast.
  bool broken() const noexcept;

  /// Reads what the server sent meanwhile, without waiting and without a
  /// round trip: a session the server ended (a restart, or the server
  /// process gone and its socket closed) is broken() afterwards, before a
  /// query is spent finding out.
  void notice_closed() noexcept;

  /// libpqxx lives here; only storage's own sources see its definition
  /// (storage/connection_impl.hpp), so no public header pulls in pqxx.
  struct impl;
  impl& native() noexcept { return *impl_; }

private:
  explicit connection(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::storage
