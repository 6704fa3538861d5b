#include "actors/gateway/http/connection.hpp"

#include <cerrno>
#include <sys/socket.h>

namespace troupe::gateway::http {

connection::connection(tcp::socket socket)
    : stream(std::move(socket)), wake(std::make_shared<alarm>(stream.get_executor())) {}

void connection::watch_for_hangup() {
  auto watch = ++watch_;
  stream.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), watch](beast::error_code ec) {
        // A wait that completed just before stop_watching() still runs: by then
        // the next request may have been read, so it must not act on the socket.
        if (ec || watch != self->watch_ || !self->stream.socket().is_open())
          return;
        // Never blocking: the readable byte may be gone by now.
        char byte = 0;
        auto n = ::recv(self->stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          self->client_gone = true;
          self->wake->ring();
        }
      });
}

void connection::stop_watching() {
  ++watch_;
  beast::error_code ignored;
  stream.socket().cancel(ignored);
}

void connection::expire(clock::time_point now) {
  if (!overdue(now))
    return; // the operation finished, or a new one was armed, meanwhile
  disarm();
  beast::error_code ignored;
  stream.socket().cancel(ignored);
}

void connection::shut() {
  closing = true;
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  wake->ring();
}

} // namespace troupe::gateway::http
