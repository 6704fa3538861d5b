-- Chat sessions, their messages, and the turns that wrote them.
--
-- A deleted session stays as a tombstone (deleted_at set, title, model and
-- external key cleared) while its messages and turns are removed in the same
-- transaction: the user's text is gone, the id can never be reused, and a
-- late commit from a session actor on another node finds "deleted" rather
-- than an empty slot it could write into.
CREATE TABLE troupe_sessions (
  id            text PRIMARY KEY CHECK (id <> ''),
  tenant        text NOT NULL CHECK (tenant <> ''),
  user_id       text NOT NULL CHECK (user_id <> ''),
  title         text NOT NULL DEFAULT '',
  model         text NOT NULL DEFAULT '',
  external_key  text CHECK (external_key <> ''), -- opaque, client-chosen (OpenAI `user`)
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  message_count integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
  deleted_at    timestamptz
);

-- One live session per client key; a deleted session frees its key.
CREATE UNIQUE INDEX troupe_sessions_external_key
  ON troupe_sessions (tenant, user_id, external_key)
  WHERE external_key IS NOT NULL AND deleted_at IS NULL;

-- Listing: a user's live sessions, most recently updated first, id breaking ties.
CREATE INDEX troupe_sessions_listing
  ON troupe_sessions (tenant, user_id, updated_at DESC, id DESC)
  WHERE deleted_at IS NULL;

-- tool_calls is a JSON array of {id, name, arguments_json} (NULL: none), not
-- protobuf bytes: operators and migrations can read it with plain SQL, and
-- it does not tie the table to one version of chat.proto.
CREATE TABLE troupe_messages (
  session_id   text NOT NULL REFERENCES troupe_sessions (id) ON DELETE CASCADE,
  seq          integer NOT NULL CHECK (seq >= 0),
  id           text NOT NULL UNIQUE CHECK (id <> ''),
  turn_id      text NOT NULL,
  role         text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  content      text NOT NULL DEFAULT '',
  tool_calls   jsonb CHECK (tool_calls IS NULL OR jsonb_typeof(tool_calls) = 'array'),
  tool_call_id text NOT NULL DEFAULT '',
  name         text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (session_id, seq)
);

-- The turns committed so far: a replayed commit of the same turn finds its
-- row and writes nothing.
CREATE TABLE troupe_turns (
  session_id   text NOT NULL REFERENCES troupe_sessions (id) ON DELETE CASCADE,
  turn_id      text NOT NULL CHECK (turn_id <> ''),
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (session_id, turn_id)
);
