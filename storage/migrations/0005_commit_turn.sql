-- A turn's commit in one round trip: the session lock, the turn claim, the
-- messages and the session's counters, as statements that each see the rows
-- committed before them (what separate statements in a transaction would
-- do, at eight round trips less per turn).
--
-- p_messages: a JSON array of {id, role, content, tool_calls (array or
-- null), tool_call_id, name, created_ms}, stored in array order after the
-- session's last message. The outcome is 'committed', 'already_committed'
-- (the turn was stored before: nothing written), 'missing' or 'deleted'; the
-- session's fields follow, null when there is no session.
CREATE FUNCTION troupe_commit_turn(p_session text, p_turn text, p_messages jsonb,
                                   p_model text, p_title text)
RETURNS TABLE (c_outcome text, c_id text, c_tenant text, c_user_id text, c_title text,
               c_model text, c_created_ms bigint, c_updated_ms bigint, c_message_count integer)
LANGUAGE plpgsql AS $$
DECLARE
  v_deleted boolean;
  v_seq integer;
BEGIN
  SELECT s.deleted_at IS NOT NULL INTO v_deleted
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
  IF FOUND THEN
    c_outcome := 'committed';
    SELECT COALESCE(max(m.seq) + 1, 0) INTO v_seq
      FROM troupe_messages m WHERE m.session_id = p_session;
    INSERT INTO troupe_messages
      (session_id, seq, id, turn_id, role, content, tool_calls, tool_call_id, name, created_at)
    SELECT p_session, v_seq + (e.ord - 1)::integer, e.m->>'id', p_turn, e.m->>'role',
           e.m->>'content', NULLIF(e.m->'tool_calls', 'null'::jsonb), e.m->>'tool_call_id',
           e.m->>'name',
           CASE WHEN (e.m->>'created_ms')::bigint > 0
                THEN timestamptz 'epoch' + (e.m->>'created_ms')::bigint * interval '1 millisecond'
                ELSE clock_timestamp() END
      FROM jsonb_array_elements(p_messages) WITH ORDINALITY AS e(m, ord);
    UPDATE troupe_sessions s SET
      message_count = s.message_count + jsonb_array_length(p_messages),
      updated_at    = clock_timestamp(),
      model         = CASE WHEN p_model = '' THEN s.model ELSE p_model END,
      title         = CASE WHEN s.title = '' THEN p_title ELSE s.title END
    WHERE s.id = p_session;
  ELSE
    c_outcome := 'already_committed';
  END IF;
  RETURN QUERY
    SELECT c_outcome, s.id, s.tenant, s.user_id, s.title, s.model,
           (extract(epoch FROM s.created_at) * 1000)::bigint,
           (extract(epoch FROM s.updated_at) * 1000)::bigint, s.message_count
      FROM troupe_sessions s WHERE s.id = p_session;
END
$$;
