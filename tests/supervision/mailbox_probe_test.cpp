#include <catch2/catch.hpp>

#include "actors/supervision/mailbox_probe.hpp"
#include "test_actors.hpp"

using namespace troupe;
using namespace troupe::supervision;
using namespace troupe::supervision::test;

TEST_CASE("the mailbox probe reports zero for an invalid handle") {
  CHECK(approximate_mailbox_size(caf::actor{}) == 0);
}

TEST_CASE("the mailbox probe sees a backlog build up behind a busy actor and drain again") {
  test_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<start_log>();
  auto busy = sys.spawn<caf::detached>(worker, log, 0);
  CHECK(approximate_mailbox_size(busy) == 0);
  for (int i = 0; i < 10; ++i)
    caf::anon_send(busy, busy_atom::value, 40);
  size_t peak = 0;
  CHECK(eventually([&] {
    peak = std::max(peak, approximate_mailbox_size(busy));
    return peak >= 3;
  }));
  CHECK(peak <= 10);
  CHECK(eventually([&] { return approximate_mailbox_size(busy) == 0; }));
  caf::anon_send_exit(busy, caf::exit_reason::user_shutdown);
}

TEST_CASE("the mailbox probe reports zero for a terminated actor and for a blocking actor") {
  test_config cfg;
  caf::actor_system sys{cfg};
  auto log = std::make_shared<start_log>();
  auto w = sys.spawn(worker, log, 0);
  caf::scoped_actor self{sys};
  self->monitor(w);
  self->send(w, finish_atom::value);
  REQUIRE(await_down(self) == caf::error{});
  CHECK(approximate_mailbox_size(w) == 0);
  // A scoped_actor is a blocking actor: no scheduled mailbox to read.
  caf::scoped_actor other{sys};
  auto other_hdl = caf::actor_cast<caf::actor>(other.ptr());
  self->send(other_hdl, ping_atom::value);
  CHECK(approximate_mailbox_size(other_hdl) == 0);
}
