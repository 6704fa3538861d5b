#pragma once
/// An incremental Server-Sent Events parser, after WHATWG HTML "Parsing an
/// event stream": fields data/event/id/retry, `:` comments, multi-line data,
/// CRLF, LF or CR line endings, a leading BOM, and input split anywhere.
/// One parser per stream; not thread-safe (a stream is read by one thread).
#include <caf/error.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::inference {

struct sse_event {
  std::string type;    ///< "message" unless an `event:` field named another
  std::string data;    ///< the event's `data:` lines joined by '\n'
  std::string last_id; ///< the last valid `id:` seen on the stream so far
};

class sse_parser {
public:
  using event_fn = std::function<void(const sse_event&)>;

  /// `max_event_bytes` bounds one event (its pending line plus data), so a
  /// peer that never ends a line or an event cannot grow memory unbounded.
  explicit sse_parser(size_t max_event_bytes = size_t{1} << 20) : max_(max_event_bytes) {}

  /// Parses `bytes` and calls `on_event` for each event they complete, in
  /// order. An event over the cap gives errc::malformed_response, here and
  /// on every later call. An event not ended by a blank line when the stream
  /// ends is never dispatched, as the spec says.
  [[nodiscard]] caf::error feed(std::string_view bytes, const event_fn& on_event);

  /// The reconnection time of the last valid `retry:` field.
  std::optional<uint64_t> retry_ms() const noexcept { return retry_; }

private:
  void on_line(std::string_view line, const event_fn& on_event);
  void dispatch(const event_fn& on_event);

  size_t max_;
  std::string line_;
  std::string data_;
  std::string type_;
  std::string last_id_;
  std::optional<uint64_t> retry_;
  bool after_cr_ = false;  // the last chunk ended in CR: a leading LF belongs to it
  bool first_line_ = true; // only the stream's first line may carry a BOM
  bool failed_ = false;
};

} // namespace troupe::inference
