#pragma once
/// Small builders of GenerateRequests for the inference tests.
#include <initializer_list>
#include <string>
#include <utility>

#include "troupe/v1/inference.pb.h"

namespace troupe::test {

inline troupe::v1::ChatMessage& add_message(troupe::v1::GenerateRequest& req, std::string role,
                                            std::string content) {
  auto* m = req.add_messages();
  m->set_role(std::move(role));
  m->set_content(std::move(content));
  return *m;
}

/// A request of (role, content) messages; temperature unset (< 0).
inline troupe::v1::GenerateRequest
make_request(std::initializer_list<std::pair<std::string, std::string>> messages) {
  troupe::v1::GenerateRequest req;
  req.set_temperature(-1);
  for (const auto& [role, content] : messages)
    add_message(req, role, content);
  return req;
}

} // namespace troupe::test
