#pragma once
/// A fake OpenAI-compatible provider for tests: a real Beast HTTP server on
/// a free 127.0.0.1 port, on an I/O thread of its own. Each request takes
/// the next scripted response from a queue (a reply, an SSE stream with
/// delays, a redirect, or a hang that never answers); with the queue empty
/// it behaves like a tiny OpenAI server: POST /v1/chat/completions answers
/// "fake heard: <last message>" (streamed when the body says "stream":
/// true), GET /v1/models lists "fake-model". Every request is recorded.
/// push() and requests() may be called from any thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::test {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct recorded_request {
  std::string method;
  std::string target; ///< path and query, e.g. "/v1/chat/completions"
  header_list headers;
  std::string body;

  /// The value of header `name` (case-insensitive), empty when absent.
  std::string header(std::string_view name) const;
};

/// Raw bytes of a streamed body, written as one HTTP chunk after `delay`.
struct stream_piece {
  std::string bytes;
  std::chrono::milliseconds delay{0};
};

struct scripted_response {
  enum class kind { reply, stream, hang };
  kind what = kind::reply;
  unsigned status = 200;
  header_list headers;
  std::string body;                 ///< kind::reply
  std::vector<stream_piece> pieces; ///< kind::stream, sent chunked as text/event-stream

  /// A reply with a JSON body.
  static scripted_response json(unsigned status, std::string body, header_list headers = {});
  static scripted_response redirect(std::string location, unsigned status = 302);
  /// A 200 text/event-stream answer made of `pieces`.
  static scripted_response sse(std::vector<stream_piece> pieces);
  /// Reads the request, then never answers until the client goes away.
  static scripted_response hang();
};

/// "data: <payload>\n\n": one SSE event.
std::string sse_data(std::string_view payload);

/// A chat.completion.chunk whose delta carries `text` as content.
std::string content_chunk(std::string_view text);

class fake_openai_server {
public:
  /// Listens at once; throws std::runtime_error when it cannot.
  fake_openai_server();
  ~fake_openai_server();
  fake_openai_server(const fake_openai_server&) = delete;
  fake_openai_server& operator=(const fake_openai_server&) = delete;

  uint16_t port() const noexcept;
  /// "http://127.0.0.1:<port>/v1"
  std::string base_url() const;

  /// Queues the answer to a coming request, first in first out.
  void push(scripted_response r);

  /// Hung answers whose client closed the connection (or sent more bytes).
  size_t hangs_abandoned() const noexcept;

  /// Streamed answers cut short because the client closed the connection
  /// (seen when the next piece cannot be written).
  size_t streams_abandoned() const noexcept;

  /// Every request received so far, in order.
  std::vector<recorded_request> requests() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::test
