#include "storage/session_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "storage/connection_impl.hpp"

namespace troupe::storage {

namespace {

using troupe::v1::ChatMessage;
using troupe::v1::SessionInfo;

const std::string session_fields = R"sql(
  id, tenant, user_id, title, model,
  (extract(epoch FROM created_at) * 1000)::bigint,
  (extract(epoch FROM updated_at) * 1000)::bigint, message_count)sql";

const std::string select_live = "SELECT " + session_fields
                                + " FROM troupe_sessions WHERE deleted_at IS NULL AND ";

const std::string insert_session_sql = R"sql(
INSERT INTO troupe_sessions (id, tenant, user_id, external_key)
VALUES ($1, $2, $3, NULLIF($4, '')) )sql";

const std::string insert_unless_key_taken_sql = insert_session_sql + R"sql(
ON CONFLICT (tenant, user_id, external_key)
  WHERE external_key IS NOT NULL AND deleted_at IS NULL DO NOTHING )sql";

// See migrations 0005 and 0006: one round trip per turn, or per batch.
constexpr const char* commit_turn_sql =
  "SELECT * FROM troupe_commit_turn($1, $2, $3::jsonb, $4, $5)";
constexpr const char* commit_turns_sql = "SELECT * FROM troupe_commit_turns($1::jsonb)";

constexpr const char* load_messages_sql = R"sql(
SELECT id, turn_id, role, content, COALESCE(tool_calls::text, ''), tool_call_id, name,
       (extract(epoch FROM created_at) * 1000)::bigint
FROM (SELECT * FROM troupe_messages
      WHERE session_id = $1
        AND EXISTS (SELECT 1 FROM troupe_sessions WHERE id = $1 AND deleted_at IS NULL)
      ORDER BY seq DESC LIMIT NULLIF($2::bigint, 0)) last
ORDER BY seq)sql";

// A cursor the user does not own compares with NULL: no rows.
const std::string list_sql = select_live + R"sql(tenant = $1 AND user_id = $2
  AND ($3 = '' OR (updated_at, id) < (SELECT updated_at, id FROM troupe_sessions
                                      WHERE id = $3 AND tenant = $1 AND user_id = $2))
ORDER BY updated_at DESC, id DESC LIMIT $4)sql";

// The tombstone keeps updated_at so that a page cursor naming it still works.
constexpr const char* tombstone_sql = R"sql(
UPDATE troupe_sessions
SET deleted_at = clock_timestamp(), title = '', model = '', external_key = NULL, message_count = 0
WHERE id = $1 AND tenant = $2 AND user_id = $3 AND deleted_at IS NULL)sql";

constexpr uint32_t default_page = 50;
constexpr uint32_t max_page = 200;

/// libpq sends text parameters as C strings: a NUL would cut a key short and
/// could make it name another row.
bool valid_key(const std::string& s) noexcept {
  return !s.empty() && s.find('\0') == std::string::npos;
}

caf::error refuse(const std::string& why) {
  return make_error(errc::query_failed, "refusing " + why);
}

/// The session_fields columns of `row`, starting at column `first`.
SessionInfo to_info(const pqxx::row& row, pqxx::row::size_type first = 0) {
  SessionInfo s;
  s.set_id(row[first].as<std::string>());
  s.set_tenant(row[first + 1].as<std::string>());
  s.set_user(row[first + 2].as<std::string>());
  s.set_title(row[first + 3].as<std::string>());
  s.set_model(row[first + 4].as<std::string>());
  s.set_created_unix_ms(row[first + 5].as<int64_t>());
  s.set_updated_unix_ms(row[first + 6].as<int64_t>());
  s.set_message_count(row[first + 7].as<uint32_t>());
  return s;
}

std::optional<SessionInfo> first_info(const pqxx::result& r) {
  if (r.empty())
    return std::nullopt;
  return to_info(r[0]);
}

/// The message's tool calls as stored (null: none).
nlohmann::json tool_calls_json(const ChatMessage& m) {
  if (m.tool_calls().empty())
    return nullptr;
  auto out = nlohmann::json::array();
  for (const auto& c : m.tool_calls())
    out.push_back({{"id", c.id()}, {"name", c.name()}, {"arguments_json", c.arguments_json()}});
  return out;
}

void parse_tool_calls(const std::string& text, ChatMessage& m) {
  if (text.empty())
    return;
  for (const auto& c : nlohmann::json::parse(text)) {
    auto* call = m.add_tool_calls();
    call->set_id(c.value("id", ""));
    call->set_name(c.value("name", ""));
    call->set_arguments_json(c.value("arguments_json", ""));
  }
}

ChatMessage to_message(const pqxx::row& row) {
  ChatMessage m;
  m.set_id(row[0].as<std::string>());
  m.set_turn_id(row[1].as<std::string>());
  m.set_role(row[2].as<std::string>());
  m.set_content(row[3].as<std::string>());
  parse_tool_calls(row[4].as<std::string>(), m);
  m.set_tool_call_id(row[5].as<std::string>());
  m.set_name(row[6].as<std::string>());
  m.set_created_unix_ms(row[7].as<int64_t>());
  return m;
}

caf::error check_message(const ChatMessage& m) {
  static constexpr std::string_view roles[] = {"system", "user", "assistant", "tool"};
  if (!valid_key(m.id()))
    return refuse("a message without a valid id");
  if (std::find(std::begin(roles), std::end(roles), m.role()) == std::end(roles))
    return refuse("message '" + m.id() + "' with role '" + m.role() + "'");
  for (const auto* text : {&m.content(), &m.tool_call_id(), &m.name()})
    if (text->find('\0') != std::string::npos)
      return refuse("message '" + m.id() + "': text with a NUL character");
  return caf::none;
}

caf::error check_turn(const std::string& session_id, const std::string& turn_id,
                      const std::vector<ChatMessage>& msgs) {
  if (!valid_key(session_id) || !valid_key(turn_id))
    return refuse("a turn without a valid session or turn id");
  if (msgs.empty())
    return refuse("turn '" + turn_id + "' without messages");
  for (const auto& m : msgs)
    if (auto err = check_message(m))
      return err;
  return caf::none;
}

std::string turn_title(const std::vector<ChatMessage>& msgs, std::string_view title_if_unset) {
  if (!title_if_unset.empty())
    return session_title(title_if_unset);
  auto user = std::find_if(msgs.begin(), msgs.end(),
                           [](const ChatMessage& m) { return m.role() == "user"; });
  return user == msgs.end() ? std::string{} : session_title(user->content());
}

/// Runs `body` on the session's libpqxx connection; whatever it throws
/// becomes a storage error that starts with `what`.
template <class Body>
auto guarded(connection& conn, const std::string& what, Body&& body)
  -> decltype(body(conn.native().conn)) {
  if (conn.broken())
    return conn.ping(); // fails fast, naming the endpoint
  try {
    return body(conn.native().conn);
  } catch (...) {
    return current_error(conn.native(), errc::query_failed, what);
  }
}

size_t utf8_sequence_length(unsigned char lead) noexcept {
  if (lead >= 0xF0)
    return 4;
  if (lead >= 0xE0)
    return 3;
  if (lead >= 0xC0)
    return 2;
  return 1;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

} // namespace

std::string session_title(std::string_view text) {
  std::string out;
  size_t chars = 0;
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    if (is_space(text[i])) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (chars + (pending_space ? 2 : 1) > max_title_chars)
      break;
    if (pending_space) {
      out += ' ';
      ++chars;
      pending_space = false;
    }
    auto len = std::min(utf8_sequence_length(static_cast<unsigned char>(text[i])), text.size() - i);
    out.append(text.substr(i, len));
    ++chars;
    i += len;
  }
  return out;
}

caf::expected<SessionInfo> create_session(connection& conn, const std::string& id,
                                          const std::string& tenant, const std::string& user,
                                          const std::string& external_key) {
  if (!valid_key(id) || !valid_key(tenant) || !valid_key(user)
      || external_key.find('\0') != std::string::npos)
    return refuse("a session without a valid id, tenant, user or external key");
  return guarded(conn, "creating session '" + id + "'",
                 [&](pqxx::connection& c) -> caf::expected<SessionInfo> {
                   pqxx::work tx{c};
                   auto r = tx.exec_params(insert_session_sql + "RETURNING " + session_fields, id,
                                           tenant, user, external_key);
                   tx.commit();
                   return to_info(r[0]);
                 });
}

caf::expected<SessionInfo> find_or_create_session(connection& conn, const std::string& id,
                                                  const std::string& tenant,
                                                  const std::string& user,
                                                  const std::string& external_key) {
  if (external_key.empty())
    return create_session(conn, id, tenant, user);
  if (!valid_key(id) || !valid_key(tenant) || !valid_key(user) || !valid_key(external_key))
    return refuse("a session without a valid id, tenant, user or external key");
  return guarded(conn, "opening the session for external key '" + external_key + "'",
                 [&](pqxx::connection& c) -> caf::expected<SessionInfo> {
                   // The holder of the key can be deleted between our insert
                   // and our read; the next round then takes the key.
                   for (int round = 0; round < 3; ++round) {
                     pqxx::work tx{c};
                     auto r = tx.exec_params(insert_unless_key_taken_sql + "RETURNING "
                                               + session_fields,
                                             id, tenant, user, external_key);
                     if (r.empty())
                       r = tx.exec_params(select_live
                                            + "tenant = $1 AND user_id = $2 AND external_key = $3",
                                          tenant, user, external_key);
                     tx.commit();
                     if (!r.empty())
                       return to_info(r[0]);
                   }
                   return make_error(errc::query_failed,
                                     "the session for external key '" + external_key
                                       + "' kept being deleted while it was opened");
                 });
}

caf::expected<std::optional<SessionInfo>> find_session(connection& conn, const std::string& id) {
  using found = caf::expected<std::optional<SessionInfo>>;
  if (!valid_key(id))
    return std::optional<SessionInfo>{};
  return guarded(conn, "reading session '" + id + "'", [&](pqxx::connection& c) -> found {
    pqxx::read_transaction tx{c};
    auto r = tx.exec_params(select_live + "id = $1", id);
    tx.commit();
    return first_info(r);
  });
}

caf::expected<std::optional<SessionInfo>>
find_by_external_key(connection& conn, const std::string& tenant, const std::string& user,
                     const std::string& external_key) {
  using found = caf::expected<std::optional<SessionInfo>>;
  if (!valid_key(tenant) || !valid_key(user) || !valid_key(external_key))
    return std::optional<SessionInfo>{};
  return guarded(conn, "reading the session for external key '" + external_key + "'",
                 [&](pqxx::connection& c) -> found {
                   pqxx::read_transaction tx{c};
                   auto r = tx.exec_params(select_live
                                             + "tenant = $1 AND user_id = $2 AND external_key = $3",
                                           tenant, user, external_key);
                   tx.commit();
                   return first_info(r);
                 });
}

caf::expected<std::vector<ChatMessage>> load_messages(connection& conn,
                                                      const std::string& session_id,
                                                      uint32_t limit) {
  using loaded = caf::expected<std::vector<ChatMessage>>;
  if (!valid_key(session_id))
    return std::vector<ChatMessage>{};
  return guarded(conn, "loading the messages of session '" + session_id + "'",
                 [&](pqxx::connection& c) -> loaded {
                   pqxx::read_transaction tx{c};
                   auto r = tx.exec_params(load_messages_sql, session_id, int64_t{limit});
                   tx.commit();
                   std::vector<ChatMessage> out;
                   out.reserve(r.size());
                   for (const auto& row : r)
                     out.push_back(to_message(row));
                   return out;
                 });
}

namespace {

caf::error check_commit(const std::string& session_id, const std::string& turn_id,
                        const std::vector<ChatMessage>& msgs, const std::string& model) {
  if (auto err = check_turn(session_id, turn_id, msgs))
    return err;
  if (model.find('\0') != std::string::npos)
    return refuse("a model name with a NUL character");
  return caf::none;
}

/// A turn's messages as troupe_commit_turn takes them.
nlohmann::json messages_json(const std::vector<ChatMessage>& msgs) {
  auto out = nlohmann::json::array();
  for (const auto& m : msgs)
    out.push_back({{"id", m.id()},
                   {"role", m.role()},
                   {"content", m.content()},
                   {"tool_calls", tool_calls_json(m)},
                   {"tool_call_id", m.tool_call_id()},
                   {"name", m.name()},
                   {"created_ms", m.created_unix_ms()}});
  return out;
}

std::string commit_what(const std::string& session_id, const std::string& turn_id) {
  return "committing turn '" + turn_id + "' of session '" + session_id + "'";
}

/// A troupe_commit_turn row (outcome, then the session's fields) as the result.
caf::expected<commit_result> commit_outcome(const pqxx::row& row, pqxx::row::size_type first,
                                            const std::string& what) {
  auto outcome = row[first].as<std::string>();
  if (outcome == "missing")
    return make_error(errc::query_failed, what + ": no such session");
  if (outcome == "deleted")
    return make_error(errc::query_failed, what + ": the session was deleted");
  commit_result out;
  out.already_committed = outcome == "already_committed";
  out.session = to_info(row, first + 1);
  return out;
}

} // namespace

caf::expected<commit_result> commit_turn(connection& conn, const std::string& session_id,
                                         const std::string& turn_id,
                                         const std::vector<ChatMessage>& msgs,
                                         const std::string& model,
                                         std::string_view title_if_unset) {
  if (auto err = check_commit(session_id, turn_id, msgs, model))
    return err;
  auto title = turn_title(msgs, title_if_unset);
  auto what = commit_what(session_id, turn_id);
  return guarded(conn, what, [&](pqxx::connection& c) -> caf::expected<commit_result> {
    pqxx::nontransaction tx{c}; // one statement: its own transaction
    // Inside the guard: dump() throws on text that is not UTF-8.
    auto r = tx.exec_params(commit_turn_sql, session_id, turn_id, messages_json(msgs).dump(),
                            model, title);
    return commit_outcome(r.at(0), 0, what);
  });
}

std::vector<caf::expected<commit_result>> commit_turns(connection& conn,
                                                       const std::vector<turn_commit>& turns) {
  std::vector<caf::expected<commit_result>> out(turns.size(), caf::expected<commit_result>{
                                                                 commit_result{}});
  auto batch = nlohmann::json::array();
  std::vector<size_t> sent; // batch position -> index in `turns`
  for (size_t i = 0; i < turns.size(); ++i) {
    const auto& t = turns[i];
    if (auto err = check_commit(t.session_id, t.turn_id, t.msgs, t.model)) {
      out[i] = std::move(err);
      continue;
    }
    batch.push_back({{"session", t.session_id},
                     {"turn", t.turn_id},
                     {"messages", messages_json(t.msgs)},
                     {"model", t.model},
                     {"title", turn_title(t.msgs, {})}});
    sent.push_back(i);
  }
  if (sent.empty())
    return out;
  auto all = guarded(conn, "committing " + std::to_string(sent.size()) + " turns",
                     [&](pqxx::connection& c) -> caf::expected<pqxx::result> {
                       pqxx::nontransaction tx{c};
                       return tx.exec_params(commit_turns_sql, batch.dump());
                     });
  if (!all || all->size() != sent.size()) {
    // One turn broke the batch (or the connection did): each on its own.
    for (auto i : sent)
      out[i] = commit_turn(conn, turns[i].session_id, turns[i].turn_id, turns[i].msgs,
                           turns[i].model);
    return out;
  }
  for (const auto& row : *all) {
    auto at = row[0].as<size_t>();
    if (at >= sent.size())
      continue;
    const auto& t = turns[sent[at]];
    out[sent[at]] = commit_outcome(row, 1, commit_what(t.session_id, t.turn_id));
  }
  return out;
}

caf::expected<troupe::v1::SessionList> list_sessions(connection& conn, const std::string& tenant,
                                                     const std::string& user, uint32_t limit,
                                                     const std::string& before_id) {
  using listed = caf::expected<troupe::v1::SessionList>;
  if (!valid_key(tenant) || !valid_key(user) || before_id.find('\0') != std::string::npos)
    return refuse("listing sessions without a valid tenant, user or cursor");
  auto page = limit == 0 ? default_page : std::min(limit, max_page);
  return guarded(conn, "listing sessions", [&](pqxx::connection& c) -> listed {
    pqxx::read_transaction tx{c};
    auto r = tx.exec_params(list_sql, tenant, user, before_id, int64_t{page} + 1);
    tx.commit();
    troupe::v1::SessionList out;
    for (const auto& row : r) {
      if (static_cast<uint32_t>(out.sessions_size()) == page) {
        out.set_has_more(true);
        break;
      }
      *out.add_sessions() = to_info(row);
    }
    return out;
  });
}

caf::expected<bool> delete_session(connection& conn, const std::string& tenant,
                                   const std::string& user, const std::string& id) {
  if (!valid_key(tenant) || !valid_key(user))
    return refuse("deleting a session without a valid tenant or user");
  if (!valid_key(id))
    return false;
  return guarded(conn, "deleting session '" + id + "'",
                 [&](pqxx::connection& c) -> caf::expected<bool> {
                   pqxx::work tx{c};
                   if (tx.exec_params(tombstone_sql, id, tenant, user).affected_rows() == 0)
                     return false;
                   tx.exec_params("DELETE FROM troupe_messages WHERE session_id = $1", id);
                   tx.exec_params("DELETE FROM troupe_turns WHERE session_id = $1", id);
                   tx.commit();
                   return true;
                 });
}

} // namespace troupe::storage
