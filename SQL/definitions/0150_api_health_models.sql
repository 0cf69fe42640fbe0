-- health_model.*, engagement.set_health_model, template.set_health_model: weighted metrics normalised to 0–100,
-- bands and freshness decay (the arithmetic: 0018_health.sql, 0019_health_now.sql). One default model per
-- organisation (a trigger keeps one: -32007 default_model); scores are recomputed by the database when a model
-- changes or is assigned.

CREATE OR REPLACE FUNCTION api.health_model_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"health_models_name_unique": "name", "health_models_bands": "amber_below",
             "engagements_health_model_fk": "model_id", "templates_health_model_fk": "model_id"}'::jsonb
$$;

CREATE OR REPLACE FUNCTION api.health_model_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('health_model.create', p);
    created app.health_models;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.health_models (organisation_id, name, metrics, grace_days, decay_points_per_30_days, red_below,
                                   amber_below, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'name'), p -> 'metrics', coalesce((p ->> 'grace_days')::integer, 45),
            coalesce((p ->> 'decay_points_per_30_days')::numeric, 10), coalesce((p ->> 'red_below')::numeric, 40),
            coalesce((p ->> 'amber_below')::numeric, 70), app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('health_model.create', p, app.health_model_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.health_model_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.health_model_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.health_model_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.health_models;
BEGIN
    SELECT * INTO item FROM app.health_models WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.health_model_json(item);
END
$$;

-- is_default: true makes it the default (the previous one steps down first, only when this write can happen);
-- false changes nothing (some model is always the default).
CREATE OR REPLACE FUNCTION api.health_model_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current app.health_models;
    updated app.health_models;
    make_default boolean := coalesce((p ->> 'is_default')::boolean, false);
    state text;
    failed_constraint text;
    message text;
BEGIN
    SELECT * INTO current FROM app.health_models WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF current.version <> (p ->> 'version')::integer THEN
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current.version);
    END IF;
    IF make_default THEN
        UPDATE app.health_models SET is_default = false WHERE is_default AND id <> current.id;
    END IF;
    UPDATE app.health_models row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        metrics = coalesce(p -> 'metrics', row.metrics),
        grace_days = coalesce((p ->> 'grace_days')::integer, row.grace_days),
        decay_points_per_30_days = coalesce((p ->> 'decay_points_per_30_days')::numeric, row.decay_points_per_30_days),
        red_below = coalesce((p ->> 'red_below')::numeric, row.red_below),
        amber_below = coalesce((p ->> 'amber_below')::numeric, row.amber_below),
        is_default = row.is_default OR make_default
    WHERE row.id = current.id AND row.version = current.version
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, NULL);
    END IF;
    RETURN app.health_model_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.health_model_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.health_model_paths());
END
$$;

-- A model in use stays (-32004 in_use); the default stays (trigger: -32007 default_model).
CREATE OR REPLACE FUNCTION api.health_model_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.versioned_delete(p, 'app.health_models');
END
$$;

CREATE OR REPLACE FUNCTION api.health_model_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.health_models', 'app.health_model_json',
        $filter$ ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q')) $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- model_id null: the engagement falls back to its template's model, then the default.
CREATE OR REPLACE FUNCTION api.engagement_set_health_model(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    updated app.engagements;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.engagements SET health_model_id = (p ->> 'model_id')::uuid WHERE id = (p ->> 'id')::uuid
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN jsonb_build_object(
        'id', updated.id, 'health_model_id', updated.health_model_id,
        'effective_model', (SELECT jsonb_build_object('id', m.id, 'name', m.name)
                            FROM app.effective_health_model(updated.organisation_id, updated.id) m));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.health_model_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.health_model_paths());
END
$$;

-- model_id null: the template's engagements (without a model of their own) use the default.
CREATE OR REPLACE FUNCTION api.template_set_health_model(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    updated app.engagement_templates;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.engagement_templates SET health_model_id = (p ->> 'model_id')::uuid WHERE id = (p ->> 'id')::uuid
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN jsonb_build_object('id', updated.id, 'health_model_id', updated.health_model_id);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.health_model_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.health_model_paths());
END
$$;

REVOKE ALL ON FUNCTION api.health_model_paths(), api.health_model_create(jsonb), api.health_model_get(jsonb),
    api.health_model_update(jsonb), api.health_model_delete(jsonb), api.health_model_list(jsonb),
    api.engagement_set_health_model(jsonb), api.template_set_health_model(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.health_model_paths(), api.health_model_create(jsonb), api.health_model_get(jsonb),
    api.health_model_update(jsonb), api.health_model_delete(jsonb), api.health_model_list(jsonb),
    api.engagement_set_health_model(jsonb), api.template_set_health_model(jsonb) TO engagement_app;
