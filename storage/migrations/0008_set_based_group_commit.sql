-- A group commit as a few set-based statements instead of troupe_commit_turn
-- once per turn (each of its four statements started its own executor inside
-- plpgsql: most of PostgreSQL's CPU per turn).
--
-- Same contract as 0006's. When every turn of the batch is of a different
-- session — always, in practice: a session commits one turn at a time — the
-- batch takes the set-based path: the sessions are locked (in id order, so
-- two committers cannot deadlock), the turns recorded, the messages added
-- and each session updated once. A batch with two turns of one session
-- keeps 0006's turn-by-turn order, where the second sees the first's effect:
-- 0006's function, renamed, is that path.
ALTER FUNCTION troupe_commit_turns(jsonb) RENAME TO troupe_commit_turns_in_order;

CREATE FUNCTION troupe_commit_turns(p_turns jsonb)
RETURNS TABLE (c_index integer, c_outcome text, c_id text, c_tenant text, c_user_id text,
               c_title text, c_model text, c_created_ms bigint, c_updated_ms bigint,
               c_message_count integer)
LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(DISTINCT e->>'session') = count(*) FROM jsonb_array_elements(p_turns) AS e) THEN
    RETURN QUERY
      WITH input AS (
        SELECT (e.ord - 1)::integer AS idx, e.t->>'session' AS session, e.t->>'turn' AS turn,
               e.t->'messages' AS messages, e.t->>'model' AS model, e.t->>'title' AS title
          FROM jsonb_array_elements(p_turns) WITH ORDINALITY AS e(t, ord)
      ), locked AS (
        SELECT s.id, s.tenant, s.user_id, s.title, s.model, s.created_at, s.updated_at,
               s.message_count, s.deleted_at IS NOT NULL AS deleted
          FROM troupe_sessions s
         WHERE s.id IN (SELECT i.session FROM input i)
         ORDER BY s.id
           FOR UPDATE
      ), fresh AS (
        INSERT INTO troupe_turns (session_id, turn_id)
        SELECT i.session, i.turn FROM input i JOIN locked l ON l.id = i.session AND NOT l.deleted
            ON CONFLICT DO NOTHING
        RETURNING session_id
      ), pending AS (
        SELECT i.*, l.message_count AS base
          FROM input i JOIN fresh f ON f.session_id = i.session JOIN locked l ON l.id = i.session
      ), added AS (
        INSERT INTO troupe_messages
          (session_id, seq, id, turn_id, role, content, tool_calls, tool_call_id, name, created_at)
        SELECT t.session, t.base + (e.ord - 1)::integer, e.m->>'id', t.turn, e.m->>'role',
               e.m->>'content', NULLIF(e.m->'tool_calls', 'null'::jsonb), e.m->>'tool_call_id',
               e.m->>'name',
               CASE WHEN (e.m->>'created_ms')::bigint > 0
                    THEN timestamptz 'epoch' + (e.m->>'created_ms')::bigint * interval '1 millisecond'
                    ELSE clock_timestamp() END
          FROM pending t, jsonb_array_elements(t.messages) WITH ORDINALITY AS e(m, ord)
      ), updated AS (
        UPDATE troupe_sessions s SET
          message_count = s.message_count + jsonb_array_length(t.messages),
          updated_at    = clock_timestamp(),
          model         = CASE WHEN t.model = '' THEN s.model ELSE t.model END,
          title         = CASE WHEN s.title = '' THEN t.title ELSE s.title END
          FROM pending t
         WHERE s.id = t.session
        RETURNING s.id, s.tenant, s.user_id, s.title, s.model, s.created_at, s.updated_at,
                  s.message_count
      ), answered AS ( -- a turn committed before: the session as locked
        SELECT l.id, l.tenant, l.user_id, l.title, l.model, l.created_at, l.updated_at,
               l.message_count
          FROM locked l
         WHERE NOT l.deleted AND l.id NOT IN (SELECT t.session FROM pending t)
      ), result AS (
        SELECT 'committed'::text AS outcome, u.* FROM updated u
        UNION ALL
        SELECT 'already_committed'::text, a.* FROM answered a
      )
      SELECT i.idx,
             CASE WHEN l.id IS NULL THEN 'missing' WHEN l.deleted THEN 'deleted'
                  ELSE r.outcome END,
             r.id, r.tenant, r.user_id, r.title, r.model,
             (extract(epoch FROM r.created_at) * 1000)::bigint,
             (extract(epoch FROM r.updated_at) * 1000)::bigint, r.message_count
        FROM input i
        LEFT JOIN locked l ON l.id = i.session
        LEFT JOIN result r ON r.id = i.session
       ORDER BY i.idx;
    RETURN;
  END IF;
  RETURN QUERY SELECT * FROM troupe_commit_turns_in_order(p_turns);
END
$$;
