#include "actors/session/context_window.hpp"

namespace troupe::session {

namespace {

/// The wire bytes of `messages` as `GenerateRequest.messages` entries.
void append_entries(std::string& out, const std::vector<troupe::v1::ChatMessage>& messages) {
  if (messages.empty())
    return;
  troupe::v1::GenerateRequest only;
  only.mutable_messages()->Reserve(static_cast<int>(messages.size()));
  for (const auto& m : messages)
    *only.add_messages() = m;
  only.AppendToString(&out);
}

} // namespace

void context_window::append(const troupe::v1::ChatMessage& m) {
  if (limit_ == 0)
    return;
  troupe::v1::GenerateRequest one;
  *one.add_messages() = m;
  entries_.push_back(one.SerializeAsString());
  bytes_ += entries_.back().size();
  while (entries_.size() > limit_) {
    bytes_ -= entries_.front().size();
    entries_.pop_front();
  }
}

std::string context_window::encode(const troupe::v1::GenerateRequest& head,
                                   const std::vector<troupe::v1::ChatMessage>& before,
                                   const std::vector<troupe::v1::ChatMessage>& after) const {
  std::string out;
  out.reserve(head.ByteSizeLong() + bytes_ + 256);
  head.AppendToString(&out);
  append_entries(out, before);
  for (const auto& e : entries_)
    out += e;
  append_entries(out, after);
  return out;
}

} // namespace troupe::session
