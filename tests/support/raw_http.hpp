#pragma once
/// A bare TCP client for HTTP server tests: libcurl is a well-behaved client,
/// but the server must also survive garbage, half requests, oversize headers
/// and pipelining, which only raw bytes can express.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::test {

struct raw_response {
  int status = 0;
  std::string head; // status line and headers, without the blank line
  std::string body;

  /// The value of header `name` (case-insensitive), empty when absent.
  std::string header(std::string_view name) const;
};

class raw_connection {
public:
  /// Connects to 127.0.0.1:port; throws std::runtime_error when refused.
  explicit raw_connection(uint16_t port);
  ~raw_connection();
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  void send(std::string_view bytes);

  /// Reads one response (headers, then Content-Length bytes unless
  /// `head_only`); nullopt when the peer closes or `limit` passes first.
  std::optional<raw_response>
  read_response(bool head_only = false, std::chrono::milliseconds limit = std::chrono::seconds{3});

  /// Everything up to and including the first `marker` (a streamed event
  /// that has arrived); nullopt when the peer closes or `limit` passes first.
  std::optional<std::string> read_until(std::string_view marker,
                                        std::chrono::milliseconds limit = std::chrono::seconds{3});

  /// Everything the peer sends until it closes; nullopt when it is still
  /// open after `limit`.
  std::optional<std::string>
  read_until_closed(std::chrono::milliseconds limit = std::chrono::seconds{3});

private:
  /// Appends what arrives before the deadline; false on timeout, true on
  /// data or EOF (`eof_` tells which).
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
};

/// Parses the first complete response in `bytes` (for one-shot exchanges).
std::optional<raw_response> parse_response(const std::string& bytes);

} // namespace troupe::test
