#include "tests/support/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace troupe::test {

namespace {

std::optional<raw_response> parse_head(const std::string& bytes, size_t& head_end) {
  head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string::npos || bytes.compare(0, 9, "HTTP/1.1 ") != 0)
    return std::nullopt;
  raw_response res;
  res.head = bytes.substr(0, head_end);
  res.status = std::stoi(bytes.substr(9, 3));
  head_end += 4;
  return res;
}

size_t content_length(const raw_response& res) {
  auto v = res.header("Content-Length");
  return v.empty() ? 0 : std::stoul(v);
}

} // namespace

std::string raw_response::header(std::string_view name) const {
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    auto line = head.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto colon = line.find(':');
    if (colon == name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      return value;
    }
    pos = end;
  }
  return {};
}

raw_connection::raw_connection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd_ >= 0)
      ::close(fd_);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
}

raw_connection::~raw_connection() {
  ::close(fd_);
}

void raw_connection::send(std::string_view bytes) {
  // The server may already have closed (e.g. after a 431): not an error here.
  (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
}

bool raw_connection::fill(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd p{fd_, POLLIN, 0};
  if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
    return false;
  char chunk[4096];
  auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0)
    eof_ = true; // a reset counts as closed too
  else
    buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<raw_response> raw_connection::read_response(bool head_only,
                                                          std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  size_t head_end = 0;
  std::optional<raw_response> res;
  while (!(res = parse_head(buffer_, head_end)))
    if (eof_ || !fill(deadline))
      return std::nullopt;
  size_t need = head_only ? 0 : content_length(*res);
  while (buffer_.size() - head_end < need)
    if (eof_ || !fill(deadline))
      return std::nullopt;
  res->body = buffer_.substr(head_end, need);
  buffer_.erase(0, head_end + need);
  return res;
}

std::optional<std::string> raw_connection::read_until(std::string_view marker,
                                                      std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  size_t at = 0;
  while ((at = buffer_.find(marker)) == std::string::npos)
    if (eof_ || !fill(deadline))
      return std::nullopt;
  auto out = buffer_.substr(0, at + marker.size());
  buffer_.erase(0, at + marker.size());
  return out;
}

std::optional<std::string> raw_connection::read_until_closed(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!eof_)
    if (!fill(deadline))
      return std::nullopt;
  return std::exchange(buffer_, {});
}

std::optional<raw_response> parse_response(const std::string& bytes) {
  size_t head_end = 0;
  auto res = parse_head(bytes, head_end);
  if (res)
    res->body = bytes.substr(head_end, content_length(*res));
  return res;
}

} // namespace troupe::test
