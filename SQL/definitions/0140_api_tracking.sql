-- kpi.*, attribution.*, report.*: an engagement's KPIs, who is credited with its items, and the reports over
-- check-ins (app.plan_vs_actual and app.showback in 0017 do the arithmetic). check-ins themselves: still the
-- server's statements (CheckInMethods), moving here next.

-- The engagement an engagement-scoped call names; not found when it is not the caller's.
CREATE OR REPLACE FUNCTION api.engagement_of(p jsonb) RETURNS app.engagements
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.engagements;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'engagement_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN item;
END
$$;

-- Adds a KPI, or changes the one of that name (case-insensitive): unit and direction keep their value when
-- left out, target and owner are replaced.
CREATE OR REPLACE FUNCTION api.kpi_define(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    paths constant jsonb := '{"kpis_engagement_fk": "engagement_id", "kpis_deliverer_fk": "deliverer_party_id"}';
    engagement app.engagements := api.engagement_of(p);
    defined app.engagement_kpis;
    state text;
    failed_constraint text;
    message text;
BEGIN
    INSERT INTO app.engagement_kpis AS k
        (organisation_id, engagement_id, name, unit, target, direction, deliverer_party_id, created_by, updated_by)
    VALUES (engagement.organisation_id, engagement.id, btrim(p ->> 'name'), coalesce(p ->> 'unit', ''),
            (p ->> 'target')::numeric, coalesce(p ->> 'direction', 'higher_is_better'), (p ->> 'deliverer_party_id')::uuid,
            app.current_user_id(), app.current_user_id())
    ON CONFLICT (organisation_id, engagement_id, lower(name)) DO UPDATE SET
        name = EXCLUDED.name, unit = coalesce(p ->> 'unit', k.unit), target = EXCLUDED.target,
        direction = coalesce(p ->> 'direction', k.direction), deliverer_party_id = EXCLUDED.deliverer_party_id
    RETURNING * INTO defined;
    RETURN app.engagement_kpi_json(defined);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

CREATE OR REPLACE FUNCTION api.kpi_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(app.engagement_kpi_json(k) ORDER BY lower(k.name))
        FROM app.engagement_kpis k
        WHERE k.organisation_id = engagement.organisation_id AND k.engagement_id = engagement.id), '[]'::jsonb);
END
$$;

-- A KPI with recorded values stays (its values refer to it: -32004 in_use).
CREATE OR REPLACE FUNCTION api.kpi_remove(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM app.engagement_kpis WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN jsonb_build_object('id', (p ->> 'id')::uuid, 'deleted', true);
END
$$;

-- An engagement's attribution periods, by first month.
CREATE OR REPLACE FUNCTION api.attribution_periods(p_engagement app.engagements) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', a.id, 'party_id', a.party_id, 'party', p.name, 'from_period', to_char(a.from_period, 'YYYY-MM'),
               'to_period', to_char(a.to_period, 'YYYY-MM')) ORDER BY a.from_period), '[]'::jsonb)
    FROM app.attribution_periods a
    JOIN app.parties p ON p.organisation_id = a.organisation_id AND p.id = a.party_id
    WHERE a.organisation_id = p_engagement.organisation_id AND a.engagement_id = p_engagement.id
$$;

-- Ranges of one engagement never overlap (exclusion constraint: -32004 overlaps at params.from_period).
CREATE OR REPLACE FUNCTION api.attribution_set(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    paths constant jsonb := '{"attribution_deliverer_fk": "party_id", "attribution_order": "to_period",
                              "attribution_overlap": "from_period"}';
    engagement app.engagements := api.engagement_of(p);
    state text;
    failed_constraint text;
    message text;
BEGIN
    INSERT INTO app.attribution_periods (organisation_id, engagement_id, party_id, from_period, to_period, created_by)
    VALUES (engagement.organisation_id, engagement.id, (p ->> 'party_id')::uuid, to_date(p ->> 'from_period', 'YYYY-MM'),
            to_date(p ->> 'to_period', 'YYYY-MM'), app.current_user_id());
    RETURN api.attribution_periods(engagement);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

CREATE OR REPLACE FUNCTION api.attribution_remove(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
BEGIN
    DELETE FROM app.attribution_periods WHERE engagement_id = engagement.id AND id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN api.attribution_periods(engagement);
END
$$;

CREATE OR REPLACE FUNCTION api.attribution_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.attribution_periods(api.engagement_of(p));
END
$$;

CREATE OR REPLACE FUNCTION api.report_plan_vs_actual(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    reply jsonb := app.plan_vs_actual((p ->> 'engagement_id')::uuid, to_date(p ->> 'from', 'YYYY-MM'),
                                      to_date(p ->> 'to', 'YYYY-MM'));
BEGIN
    IF reply IS NULL THEN
        PERFORM api.not_found();
    END IF;
    RETURN reply;
END
$$;

CREATE OR REPLACE FUNCTION api.report_showback(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    reply jsonb := app.showback((p ->> 'engagement_id')::uuid, (p ->> 'party_id')::uuid,
                                to_date(p ->> 'from', 'YYYY-MM'), to_date(p ->> 'to', 'YYYY-MM'));
BEGIN
    IF reply IS NULL THEN
        PERFORM api.not_found();
    END IF;
    RETURN reply;
END
$$;

-- health.*: the current score with its arithmetic (app.health_explain, 0019) and the stored monthly scores.
CREATE OR REPLACE FUNCTION api.health_explain(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    reply jsonb := app.health_explain((p ->> 'engagement_id')::uuid, coalesce((p ->> 'as_of')::timestamptz, now()));
BEGIN
    IF reply IS NULL THEN
        PERFORM api.not_found();
    END IF;
    RETURN reply;
END
$$;

CREATE OR REPLACE FUNCTION api.health_history(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'period', to_char(s.period, 'YYYY-MM'), 'score', s.score, 'band', s.band, 'model_id', s.model_id,
                   'metrics', s.metrics, 'computed_at', s.computed_at) ORDER BY s.period)
        FROM app.health_scores s
        WHERE s.organisation_id = engagement.organisation_id AND s.engagement_id = engagement.id
          AND (p ->> 'from' IS NULL OR s.period >= to_date(p ->> 'from', 'YYYY-MM'))
          AND (p ->> 'to' IS NULL OR s.period <= to_date(p ->> 'to', 'YYYY-MM'))), '[]'::jsonb);
END
$$;

REVOKE ALL ON FUNCTION api.engagement_of(jsonb), api.kpi_define(jsonb), api.kpi_list(jsonb), api.kpi_remove(jsonb),
    api.attribution_periods(app.engagements), api.attribution_set(jsonb), api.attribution_remove(jsonb),
    api.attribution_list(jsonb), api.report_plan_vs_actual(jsonb), api.report_showback(jsonb),
    api.health_explain(jsonb), api.health_history(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.engagement_of(jsonb), api.kpi_define(jsonb), api.kpi_list(jsonb), api.kpi_remove(jsonb),
    api.attribution_periods(app.engagements), api.attribution_set(jsonb), api.attribution_remove(jsonb),
    api.attribution_list(jsonb), api.report_plan_vs_actual(jsonb), api.report_showback(jsonb),
    api.health_explain(jsonb), api.health_history(jsonb) TO engagement_app;
