#pragma once
/// Boost.Asio and Beast for the bench's HTTP pieces, with the include traps
/// of Boost 1.74 on GCC 12 handled once.
#include <utility> // Boost 1.74's asio/awaitable.hpp needs std::exchange declared first (GCC 12)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

// Asio's coroutine frames pair a sized operator delete with their own
// operator new; GCC 12 flags that at the end of each coroutine body.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace troupe::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

} // namespace troupe::bench
