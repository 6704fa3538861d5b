#pragma once
/// Runs one authentication and waits for its answer, checking that `done`
/// runs exactly once.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>

#include "actors/gateway/authenticator.hpp"

namespace troupe::identity_test {

using principal_result = gateway::result<troupe::v1::Principal>;

inline principal_result authenticate(gateway::authenticator& a, gateway::credentials c,
                                     std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  auto answer = std::make_shared<std::promise<principal_result>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto got = answer->get_future();
  a.authenticate(std::move(c), [answer, calls](principal_result r) {
    if (calls->fetch_add(1) == 0)
      answer->set_value(std::move(r));
  });
  REQUIRE(got.wait_for(timeout) == std::future_status::ready);
  CHECK(calls->load() == 1);
  return got.get();
}

inline gateway::credentials bearer(const std::string& token, std::string tenant = {},
                                   std::string user = {}) {
  return {"Bearer " + token, std::move(tenant), std::move(user)};
}

/// The error's code, or "ok" for a principal.
inline std::string code_of(const principal_result& r) {
  auto* err = std::get_if<gateway::api_error>(&r);
  return err ? err->code : "ok";
}

inline unsigned status_of(const principal_result& r) {
  auto* err = std::get_if<gateway::api_error>(&r);
  return err ? err->status : 200;
}

} // namespace troupe::identity_test
