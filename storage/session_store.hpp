#pragma once
/// Chat sessions in PostgreSQL: troupe_sessions, troupe_messages and
/// troupe_turns (migration 0004). Blocking, like every call on a `connection`:
/// run it on a store_pool worker or another thread that may block.
///
/// Identifiers (session, turn, message ids, tenant, user, external key) must
/// be non-empty and free of NUL (PostgreSQL text cannot hold one). A write
/// with such a key is refused with errc::query_failed; a lookup by one finds
/// nothing. Calls that take tenant and user filter every statement by them.
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.hpp"
#include "troupe/v1/chat.pb.h"

namespace troupe::storage {

/// The longest title, in Unicode code points.
constexpr size_t max_title_chars = 60;

/// `text` as a session title: whitespace runs become one space, the ends are
/// trimmed, and at most max_title_chars code points are kept (never cutting
/// a UTF-8 sequence).
std::string session_title(std::string_view text);

/// A new, empty session owned by `tenant`/`user`. `external_key` (empty:
/// none) is the client's own name for it, unique among the user's live
/// sessions. errc::query_failed for an invalid key, an id that exists (even
/// deleted) or an external key already in use.
[[nodiscard]] caf::expected<troupe::v1::SessionInfo>
create_session(connection& conn, const std::string& id, const std::string& tenant,
               const std::string& user, const std::string& external_key = {});

/// The user's live session named `external_key`, created with `id` when there
/// is none; safe when several callers race for the same key. With an empty
/// key this is create_session.
[[nodiscard]] caf::expected<troupe::v1::SessionInfo>
find_or_create_session(connection& conn, const std::string& id, const std::string& tenant,
                       const std::string& user, const std::string& external_key);

/// The live session `id` (its tenant and user name the owner: the caller
/// checks them), or nullopt when there is none or it was deleted.
[[nodiscard]] caf::expected<std::optional<troupe::v1::SessionInfo>>
find_session(connection& conn, const std::string& id);

/// The user's live session named `external_key`, or nullopt.
[[nodiscard]] caf::expected<std::optional<troupe::v1::SessionInfo>>
find_by_external_key(connection& conn, const std::string& tenant, const std::string& user,
                     const std::string& external_key);

/// The last `limit` messages of a live session (0: all), oldest first. Each
/// carries the turn_id of the commit that wrote it. Empty for an unknown or
/// deleted session.
[[nodiscard]] caf::expected<std::vector<troupe::v1::ChatMessage>>
load_messages(connection& conn, const std::string& session_id, uint32_t limit);

struct commit_result {
  /// True when `turn_id` had been committed before: nothing was written.
  bool already_committed = false;
  /// The session after the commit.
  troupe::v1::SessionInfo session;
};

/// Appends one turn's messages, all or nothing, in one transaction that holds
/// the session row's lock: commits from two nodes cannot interleave, and
/// sequence numbers stay gapless. Committing a turn_id again writes nothing
/// and reports already_committed. Sets the session's model (unless `model` is
/// empty) and, while the session has no title, its title from
/// `title_if_unset` or else from the first user message of the turn (see
/// session_title). Each message needs a unique non-empty id and a role of
/// system, user, assistant or tool; its own turn_id is ignored, and a
/// created_unix_ms of 0 means now. errc::query_failed for a missing or
/// deleted session, an empty turn or invalid messages.
[[nodiscard]] caf::expected<commit_result>
commit_turn(connection& conn, const std::string& session_id, const std::string& turn_id,
            const std::vector<troupe::v1::ChatMessage>& msgs, const std::string& model,
            std::string_view title_if_unset = {});

/// One turn to commit with others (commit_turns).
struct turn_commit {
  std::string session_id;
  std::string turn_id;
  std::vector<troupe::v1::ChatMessage> msgs;
  std::string model;
};

/// Commits several turns (of different sessions) in one round trip and one
/// transaction, each exactly as commit_turn would; the result at index i is
/// turn i's. When the call as a whole fails (a statement error in one turn),
/// every turn is committed on its own instead, so only the bad one fails.
[[nodiscard]] std::vector<caf::expected<commit_result>>
commit_turns(connection& conn, const std::vector<turn_commit>& turns);

/// The user's live sessions, most recently updated first. `limit` 0 means 50,
/// more than 200 means 200. `before_id` (empty: from the top) continues after
/// that session of the same user, even if it was deleted meanwhile; an id the
/// user does not own gives an empty page.
[[nodiscard]] caf::expected<troupe::v1::SessionList>
list_sessions(connection& conn, const std::string& tenant, const std::string& user,
              uint32_t limit, const std::string& before_id);

/// Deletes the user's session `id`: its messages and turns are removed, and
/// the row stays as a tombstone (title, model and external key cleared) so
/// the id is never reused and later commits to it are refused. False when
/// the user has no such live session.
[[nodiscard]] caf::expected<bool> delete_session(connection& conn, const std::string& tenant,
                                                 const std::string& user, const std::string& id);

} // namespace troupe::storage
