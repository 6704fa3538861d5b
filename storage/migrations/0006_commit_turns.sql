-- Several sessions' turns committed in one round trip and one transaction
-- (group commit): the store's committer gathers the turns that arrive while
-- its previous call runs. Each turn is troupe_commit_turn's, in array order;
-- c_index says which element a row answers. A statement that fails fails
-- the whole call: the caller then commits the turns one by one, so one bad
-- turn cannot take the others down with it.
--
-- p_turns: a JSON array of {session, turn, messages, model, title}, each as
-- troupe_commit_turn takes them.
CREATE FUNCTION troupe_commit_turns(p_turns jsonb)
RETURNS TABLE (c_index integer, c_outcome text, c_id text, c_tenant text, c_user_id text,
               c_title text, c_model text, c_created_ms bigint, c_updated_ms bigint,
               c_message_count integer)
LANGUAGE plpgsql AS $$
DECLARE
  v_turn jsonb;
  v_index integer := 0;
BEGIN
  FOR v_turn IN SELECT e FROM jsonb_array_elements(p_turns) AS e LOOP
    RETURN QUERY
      SELECT v_index, r.*
        FROM troupe_commit_turn(v_turn->>'session', v_turn->>'turn', v_turn->'messages',
                                v_turn->>'model', v_turn->>'title') AS r;
    v_index := v_index + 1;
  END LOOP;
END
$$;
