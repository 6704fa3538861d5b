#pragma once
/// Boost.Asio and Beast as this folder uses them, with the include traps of
/// Boost 1.74 on GCC 12 handled once. Private to actors/gateway/http.
#include <utility> // Boost 1.74's asio/awaitable.hpp needs std::exchange declared first (GCC 12)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

// Asio's coroutine frames (awaitable_frame_base) pair a sized operator delete
// with their own operator new; GCC 12 flags that where a frame is freed, i.e.
// at the end of every coroutine body in the files that include this one, and
// inside Beast itself.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Two more GCC 12 coroutine traps, both about temporaries in a co_await
// expression: a braced std::initializer_list (a json literal, a headers list)
// does not compile ("array used as initializer"), and an aggregate or a
// lambda that owns non-trivial members is destroyed twice. Name such values
// before the co_await, or give the type a constructor.

namespace troupe::gateway::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using request = bhttp::request<bhttp::string_body>;
using clock = std::chrono::steady_clock;

} // namespace troupe::gateway::http
