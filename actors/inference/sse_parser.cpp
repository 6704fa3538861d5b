#include "actors/inference/sse_parser.hpp"

#include <algorithm>
#include <charconv>

#include "actors/inference/errc.hpp"

namespace troupe::inference {

namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

} // namespace

caf::error sse_parser::feed(std::string_view bytes, const event_fn& on_event) {
  auto oversize = [this] {
    failed_ = true;
    return make_error(errc::malformed_response,
                      "an SSE event exceeds " + std::to_string(max_) + " bytes");
  };
  if (failed_)
    return oversize();
  size_t i = 0;
  if (after_cr_ && !bytes.empty()) {
    after_cr_ = false;
    if (bytes.front() == '\n')
      i = 1;
  }
  while (i < bytes.size()) {
    auto end = bytes.find_first_of("\r\n", i);
    line_.append(bytes.substr(i, end == std::string_view::npos ? end : end - i));
    if (line_.size() + data_.size() > max_)
      return oversize();
    if (end == std::string_view::npos)
      break;
    if (bytes[end] == '\r') {
      if (end + 1 == bytes.size())
        after_cr_ = true;
      else if (bytes[end + 1] == '\n')
        ++end;
    }
    i = end + 1;
    on_line(line_, on_event);
    line_.clear();
  }
  return {};
}

void sse_parser::on_line(std::string_view line, const event_fn& on_event) {
  if (first_line_) {
    first_line_ = false;
    if (line.substr(0, utf8_bom.size()) == utf8_bom)
      line.remove_prefix(utf8_bom.size());
  }
  if (line.empty()) {
    dispatch(on_event);
    return;
  }
  if (line.front() == ':')
    return; // a comment, e.g. a keep-alive
  auto colon = line.find(':');
  auto field = line.substr(0, colon);
  auto value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos)
      last_id_.assign(value);
  } else if (field == "retry") {
    uint64_t ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    // Only a value of ASCII digits alone counts ("10s" is ignored), and one
    // too large for 64 bits is ignored too.
    if (!value.empty() && ec == std::errc{} && end == value.data() + value.size())
      retry_ = ms;
  }
}

void sse_parser::dispatch(const event_fn& on_event) {
  if (data_.empty()) {
    type_.clear();
    return;
  }
  data_.pop_back(); // the '\n' after the last data line
  sse_event ev{type_.empty() ? "message" : std::move(type_), std::move(data_), last_id_};
  data_.clear();
  type_.clear();
  on_event(ev);
}

} // namespace troupe::inference
