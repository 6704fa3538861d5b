#include "actors/session/directory_claim.hpp"

#include "bus/errc.hpp"

namespace troupe::session {

caf::expected<std::string> claim_session(bus::kv_bucket& directory, const std::string& session_id,
                                         const std::string& me, const std::string& failed_owner) {
  // Each round either settles or lost a race to a write that happened in
  // between; a few rounds are plenty unless the key is being fought over.
  for (int round = 0; round < 5; ++round) {
    auto entry = directory.get(session_id);
    caf::expected<uint64_t> written{uint64_t{0}};
    if (!entry) {
      if (!bus::is(entry.error(), bus::errc::kv_key_not_found))
        return entry.error();
      written = directory.create(session_id, me);
    } else if (entry->op != bus::kv_op::put || entry->value.empty()
               || (!failed_owner.empty() && entry->value == failed_owner)) {
      written = directory.update(session_id, me, entry->revision);
    } else {
      return entry->value; // mine already, or a live node's
    }
    if (written)
      return me;
    if (!bus::is(written.error(), bus::errc::kv_revision_mismatch))
      return written.error();
  }
  return bus::make_error(bus::errc::kv_revision_mismatch,
                         "session " + session_id + " keeps changing owner");
}

} // namespace troupe::session
