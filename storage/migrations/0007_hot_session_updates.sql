-- A turn's commit without the write amplification of 0004/0005.
--
-- Every turn updates its session's row (message_count, updated_at). With
-- updated_at in the listing index, each of those updates was a new row
-- version with new entries in every index, and at a few thousand turns a
-- second on a handful of busy sessions most of PostgreSQL's time went to
-- walking dead versions. The listing index now leaves updated_at out, so a
-- turn's update is a heap-only (HOT) update that touches no index, and the
-- table keeps free room in each page (fillfactor 70) for those versions.
-- Listing a user's sessions sorts that user's rows by updated_at instead of
-- reading them in index order: one user's sessions, a sort in memory.
DROP INDEX troupe_sessions_listing;
CREATE INDEX troupe_sessions_listing
  ON troupe_sessions (tenant, user_id)
  WHERE deleted_at IS NULL;
ALTER TABLE troupe_sessions SET (fillfactor = 70);

-- Same contract as 0005's. Messages are numbered from the session's
-- message_count (seq runs 0 .. message_count - 1: only this function adds
-- messages, and it counts every one it adds) rather than from a max(seq)
-- scan, and the update that counts them returns the session's fields.
CREATE OR REPLACE FUNCTION troupe_commit_turn(p_session text, p_turn text, p_messages jsonb,
                                              p_model text, p_title text)
RETURNS TABLE (c_outcome text, c_id text, c_tenant text, c_user_id text, c_title text,
               c_model text, c_created_ms bigint, c_updated_ms bigint, c_message_count integer)
LANGUAGE plpgsql AS $$
DECLARE
  v_deleted boolean;
  v_count integer;
BEGIN
  SELECT s.deleted_at IS NOT NULL, s.message_count INTO v_deleted, v_count
    FROM troupe_sessions s WHERE s.id = p_session FOR UPDATE;
  IF NOT FOUND THEN
    c_outcome := 'missing';
    RETURN NEXT;
    RETURN;
  END IF;
  IF v_deleted THEN
    c_outcome := 'deleted';
    RETURN NEXT;
    RETURN;
  END IF;
  INSERT INTO troupe_turns (session_id, turn_id) VALUES (p_session, p_turn)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN QUERY
      SELECT 'already_committed'::text, s.id, s.tenant, s.user_id, s.title, s.model,
             (extract(epoch FROM s.created_at) * 1000)::bigint,
             (extract(epoch FROM s.updated_at) * 1000)::bigint, s.message_count
        FROM troupe_sessions s WHERE s.id = p_session;
    RETURN;
  END IF;
  INSERT INTO troupe_messages
    (session_id, seq, id, turn_id, role, content, tool_calls, tool_call_id, name, created_at)
  SELECT p_session, v_count + (e.ord - 1)::integer, e.m->>'id', p_turn, e.m->>'role',
         e.m->>'content', NULLIF(e.m->'tool_calls', 'null'::jsonb), e.m->>'tool_call_id',
         e.m->>'name',
         CASE WHEN (e.m->>'created_ms')::bigint > 0
              THEN timestamptz 'epoch' + (e.m->>'created_ms')::bigint * interval '1 millisecond'
              ELSE clock_timestamp() END
    FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS e(m, ord);
  RETURN QUERY
    UPDATE troupe_sessions s SET
      message_count = s.message_count + jsonb_array_length(p_messages),
      updated_at    = clock_timestamp(),
      model         = CASE WHEN p_model = '' THEN s.model ELSE p_model END,
      title         = CASE WHEN s.title = '' THEN p_title ELSE s.title END
    WHERE s.id = p_session
    RETURNING 'committed'::text, s.id, s.tenant, s.user_id, s.title, s.model,
              (extract(epoch FROM s.created_at) * 1000)::bigint,
              (extract(epoch FROM s.updated_at) * 1000)::bigint, s.message_count;
END
$$;
