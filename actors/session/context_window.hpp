#pragma once
/// The session's recent messages as the model will get them: each kept as
/// the encoded `GenerateRequest.messages` entry, so a turn's request is its
/// head plus a concatenation of ready bytes (repeated fields concatenate on
/// the wire) rather than a copy and a re-encoding of the whole history.
#include <cstddef>
#include <deque>
#include <string>
#include <vector>

#include "troupe/v1/chat.pb.h"
#include "troupe/v1/inference.pb.h"

namespace troupe::session {

class context_window {
public:
  /// `limit`: the most messages kept; older ones fall out first.
  explicit context_window(size_t limit) : limit_(limit) {}

  void append(const troupe::v1::ChatMessage& m);
  size_t size() const noexcept { return entries_.size(); }

  /// The encoded request: `head`'s fields, then `before`, the window, `after`.
  std::string encode(const troupe::v1::GenerateRequest& head,
                     const std::vector<troupe::v1::ChatMessage>& before,
                     const std::vector<troupe::v1::ChatMessage>& after) const;

private:
  size_t limit_;
  size_t bytes_ = 0;
  std::deque<std::string> entries_;
};

} // namespace troupe::session
