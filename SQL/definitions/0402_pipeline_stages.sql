-- opportunity.stages and opportunity.set_stages: each organisation's pipeline (the stages' rules are in
-- 0400_opportunities.sql; the opportunity methods in 0401_api_opportunities.sql).

CREATE OR REPLACE FUNCTION api.opportunity_stages(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'name', s.name, 'position', s.position, 'outcome', s.outcome,
               'opportunities', (SELECT count(*) FROM app.opportunities o WHERE o.organisation_id = s.organisation_id AND o.stage = s.name))
               ORDER BY s.position, s.name), '[]'::jsonb)
    FROM app.pipeline_stages s WHERE s.organisation_id = app.current_organisation_id()
$$;

-- The open stages, in order, replacing the current ones; a stage opportunities are in stays (in use).
CREATE OR REPLACE FUNCTION api.opportunity_set_stages(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    names text[] := ARRAY(SELECT jsonb_array_elements_text(p -> 'stages'));
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF cardinality(names) = 0 THEN
        PERFORM api.invalid_param('stages', 'needs at least one open stage');
    END IF;
    IF (SELECT count(DISTINCT n) FROM unnest(names) n) <> cardinality(names) THEN
        PERFORM api.invalid_param('stages', 'names a stage twice');
    END IF;
    IF names && ARRAY['closed_won', 'closed_lost'] THEN
        PERFORM api.invalid_param('stages', 'lists the open stages; closed_won and closed_lost are fixed');
    END IF;
    BEGIN
        DELETE FROM app.pipeline_stages WHERE organisation_id = app.current_organisation_id() AND outcome = 'open'
                                          AND name <> ALL (names);
    EXCEPTION WHEN foreign_key_violation THEN
        PERFORM api.conflict('in_use', 'a stage that opportunities are in cannot be removed');
    END;
    INSERT INTO app.pipeline_stages (organisation_id, name, position, outcome)
    SELECT app.current_organisation_id(), n, i, 'open' FROM unnest(names) WITH ORDINALITY AS x(n, i)
    ON CONFLICT (organisation_id, name) DO UPDATE SET position = EXCLUDED.position
        WHERE app.pipeline_stages.position IS DISTINCT FROM EXCLUDED.position;
    RETURN api.opportunity_stages(p);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.opportunity_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.opportunity_paths());
END
$$;

REVOKE ALL ON FUNCTION api.opportunity_stages(jsonb), api.opportunity_set_stages(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.opportunity_stages(jsonb), api.opportunity_set_stages(jsonb) TO engagement_app;
