-- risk.* and risk_rule.*: risk signals of engagements, raised by hand or by threshold rules, with severity from
-- probability × impact (the matrix and the rule evaluation: 0020_risk.sql).

CREATE OR REPLACE FUNCTION api.risk_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"risk_signals_engagement_fk": "engagement_id", "risk_signals_owner_fk": "owner_user_id",
             "risk_signals_value_currency": "currency", "risk_rules_name_unique": "name"}'::jsonb
$$;

CREATE OR REPLACE FUNCTION api.risk_raise(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('risk.raise', p);
    created app.risk_signals;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.risk_signals (organisation_id, engagement_id, title, probability, impact, category, description,
                                  owner_user_id, due_date, value_at_risk, currency, created_by, updated_by)
    VALUES (app.current_organisation_id(), (p ->> 'engagement_id')::uuid, btrim(p ->> 'title'), p ->> 'probability',
            p ->> 'impact', coalesce(btrim(p ->> 'category'), 'delivery'), coalesce(p ->> 'description', ''),
            (p ->> 'owner_user_id')::uuid, (p ->> 'due_date')::date, (p ->> 'value_at_risk')::numeric, p ->> 'currency',
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('risk.raise', p, app.risk_signal_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.risk_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.risk_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.risk_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.risk_signals;
BEGIN
    SELECT * INTO item FROM app.risk_signals WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.risk_signal_json(item);
END
$$;

-- A versioned change of the signal `p.id` with the new values in `p_change` (absent columns keep theirs); for
-- update and resolve.
CREATE OR REPLACE FUNCTION api.risk_change(p jsonb, p_change jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_due_date date := (p_change ->> 'due_date')::date;
    current_version integer;
    updated app.risk_signals;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.risk_signals row SET
        title = coalesce(btrim(p_change ->> 'title'), row.title),
        description = coalesce(p_change ->> 'description', row.description),
        category = coalesce(btrim(p_change ->> 'category'), row.category),
        probability = coalesce(p_change ->> 'probability', row.probability),
        impact = coalesce(p_change ->> 'impact', row.impact),
        status = coalesce(p_change ->> 'status', row.status),
        owner_user_id = CASE WHEN p_change ? 'owner_user_id' THEN (p_change ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        due_date = CASE WHEN p_change ? 'due_date' THEN v_due_date ELSE row.due_date END,
        value_at_risk = CASE WHEN p_change ? 'value_at_risk' THEN (p_change ->> 'value_at_risk')::numeric ELSE row.value_at_risk END,
        currency = coalesce(p_change ->> 'currency', row.currency),
        resolution = coalesce(p_change ->> 'resolution', row.resolution)
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.risk_signals WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.risk_signal_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.risk_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.risk_paths());
END
$$;

-- Details, or open ⇄ mitigating (reopens a closed one); owner, due date and value: null clears.
CREATE OR REPLACE FUNCTION api.risk_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.risk_change(p, p - 'id' - 'version' - 'resolution');
END
$$;

-- Closed as resolved (default) or dismissed, with a note.
CREATE OR REPLACE FUNCTION api.risk_resolve(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.risk_change(p, jsonb_build_object('status', coalesce(p ->> 'status', 'resolved'))
                              || jsonb_strip_nulls(jsonb_build_object('resolution', p ->> 'resolution')));
END
$$;

-- Sorted by creation time by default (order desc: newest first); sort key "name" is the title.
CREATE OR REPLACE FUNCTION api.risk_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.risk_signals', 'app.risk_signal_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'status' IS NULL OR row.status = $1 ->> 'status')
        AND ($1 ->> 'severity' IS NULL OR row.severity = $1 ->> 'severity')
        AND ($1 ->> 'probability' IS NULL OR row.probability = $1 ->> 'probability')
        AND ($1 ->> 'category' IS NULL OR lower(row.category) = lower(btrim($1 ->> 'category')))
        AND ($1 ->> 'source' IS NULL OR row.source = $1 ->> 'source')
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

CREATE OR REPLACE FUNCTION api.risk_summary(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    reply jsonb := app.risk_summary((p ->> 'engagement_id')::uuid);
BEGIN
    IF reply IS NULL THEN
        PERFORM api.not_found();
    END IF;
    RETURN reply;
END
$$;

CREATE OR REPLACE FUNCTION api.risk_rule_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('risk_rule.create', p);
    created app.risk_rules;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.risk_rules (organisation_id, name, condition, title, kpi, product, capability, comparison, threshold,
                                band, category, probability, impact, enabled, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'name'), p ->> 'condition', btrim(p ->> 'title'),
            btrim(p ->> 'kpi'), btrim(p ->> 'product'), btrim(p ->> 'capability'), p ->> 'comparison', (p ->> 'threshold')::numeric, p ->> 'band',
            coalesce(btrim(p ->> 'category'), 'delivery'), coalesce(p ->> 'probability', 'high'),
            coalesce(p ->> 'impact', 'medium'), coalesce((p ->> 'enabled')::boolean, true),
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('risk_rule.create', p, app.risk_rule_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.risk_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.risk_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.risk_rule_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.risk_rules;
BEGIN
    SELECT * INTO item FROM app.risk_rules WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.risk_rule_json(item);
END
$$;

-- A new condition drops the KPI, product and capability names it does not use; the rule is evaluated afresh by
-- the database.
CREATE OR REPLACE FUNCTION api.risk_rule_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current_version integer;
    updated app.risk_rules;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.risk_rules row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        condition = coalesce(p ->> 'condition', row.condition),
        title = coalesce(btrim(p ->> 'title'), row.title),
        kpi = CASE WHEN p ->> 'condition' IS NOT NULL AND p ->> 'condition' <> 'kpi' THEN NULL
                   ELSE coalesce(btrim(p ->> 'kpi'), row.kpi) END,
        product = CASE WHEN coalesce(p ->> 'condition', row.condition)
                            NOT IN ('adoption_score', 'licence_utilisation', 'capability_coverage', 'capability_usage') THEN NULL
                       ELSE coalesce(btrim(p ->> 'product'), row.product) END,
        capability = CASE WHEN coalesce(p ->> 'condition', row.condition) <> 'capability_usage' THEN NULL
                          ELSE coalesce(btrim(p ->> 'capability'), row.capability) END,
        comparison = coalesce(p ->> 'comparison', row.comparison),
        threshold = coalesce((p ->> 'threshold')::numeric, row.threshold),
        band = coalesce(p ->> 'band', row.band),
        category = coalesce(btrim(p ->> 'category'), row.category),
        probability = coalesce(p ->> 'probability', row.probability),
        impact = coalesce(p ->> 'impact', row.impact),
        enabled = coalesce((p ->> 'enabled')::boolean, row.enabled)
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.risk_rules WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.risk_rule_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.risk_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.risk_paths());
END
$$;

-- The signals it raised stay (without the link).
CREATE OR REPLACE FUNCTION api.risk_rule_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.versioned_delete(p, 'app.risk_rules');
END
$$;

CREATE OR REPLACE FUNCTION api.risk_rule_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.risk_rules', 'app.risk_rule_json',
        $filter$ ($1 ->> 'condition' IS NULL OR row.condition = $1 ->> 'condition') $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

REVOKE ALL ON FUNCTION api.risk_paths(), api.risk_raise(jsonb), api.risk_get(jsonb), api.risk_change(jsonb, jsonb),
    api.risk_update(jsonb), api.risk_resolve(jsonb), api.risk_list(jsonb), api.risk_summary(jsonb),
    api.risk_rule_create(jsonb), api.risk_rule_get(jsonb), api.risk_rule_update(jsonb), api.risk_rule_delete(jsonb),
    api.risk_rule_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.risk_paths(), api.risk_raise(jsonb), api.risk_get(jsonb), api.risk_change(jsonb, jsonb),
    api.risk_update(jsonb), api.risk_resolve(jsonb), api.risk_list(jsonb), api.risk_summary(jsonb),
    api.risk_rule_create(jsonb), api.risk_rule_get(jsonb), api.risk_rule_update(jsonb), api.risk_rule_delete(jsonb),
    api.risk_rule_list(jsonb) TO engagement_app;
