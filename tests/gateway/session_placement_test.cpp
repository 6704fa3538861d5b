#include <catch2/catch.hpp>
#include <map>

#include "actors/gateway/session_placement.hpp"

using troupe::node_id;
using troupe::gateway::session_placement;
using namespace std::chrono_literals;

namespace {
const auto t0 = session_placement::clock::time_point{} + 1h;
} // namespace

TEST_CASE("placement picks the live session node with the fewest sessions", "[placement]") {
  session_placement p{600ms};
  CHECK_FALSE(p.pick(t0)); // nobody heard yet: the caller uses the queue group
  p.heard(node_id{"a"}, 10, true, t0);
  p.heard(node_id{"b"}, 7, true, t0);
  CHECK(p.pick(t0) == node_id{"b"});
}

TEST_CASE("placement spreads a burst between two heartbeats by what it placed itself",
          "[placement]") {
  session_placement p{600ms};
  p.heard(node_id{"a"}, 3, true, t0);
  p.heard(node_id{"b"}, 0, true, t0);
  std::map<std::string, int> placed;
  for (int i = 0; i < 13; ++i)
    ++placed[p.pick(t0 + 1ms)->str()];
  // b takes the three it lacks, then the two share the rest evenly.
  CHECK(placed["b"] == 8);
  CHECK(placed["a"] == 5);
  // A new report replaces what the gateway counted.
  p.heard(node_id{"a"}, 0, true, t0 + 2ms);
  CHECK(p.pick(t0 + 2ms) == node_id{"a"});
}

TEST_CASE("placement leaves out nodes that are silent, not ready, gone or to be avoided",
          "[placement]") {
  session_placement p{600ms};
  p.heard(node_id{"old"}, 0, true, t0);
  p.heard(node_id{"busy"}, 50, true, t0 + 500ms);
  p.heard(node_id{"starting"}, 0, false, t0 + 500ms);
  p.heard(node_id{"dead"}, 0, true, t0 + 500ms);
  p.gone(node_id{"dead"});
  // "old" has not been heard for longer than the expiry.
  CHECK(p.pick(t0 + 700ms) == node_id{"busy"});
  CHECK_FALSE(p.pick(t0 + 700ms, node_id{"busy"}));
  CHECK(p.size() == 2); // the expired one is forgotten
  // A node found dead is back once it is heard again.
  p.heard(node_id{"dead"}, 0, true, t0 + 800ms);
  CHECK(p.pick(t0 + 800ms) == node_id{"dead"});
}
