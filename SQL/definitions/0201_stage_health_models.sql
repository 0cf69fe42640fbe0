-- Health models per journey stage ("a brand-new account being onboarded looks nothing like a mature account
-- heading into a renewal cycle"): the choice order is app.engagement_health_models (0018_health.sql). When the
-- model an engagement is scored with may have changed (its stage moved, or a stage's model was set or removed),
-- its monthly scores are recomputed and its risk rules evaluated again, as for any other model change.

CREATE OR REPLACE FUNCTION app.rescore_for_stage_model() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed record := coalesce(NEW, OLD);
    e record;
BEGIN
    IF TG_TABLE_NAME = 'engagements' THEN
        PERFORM app.recompute_engagement_health(NEW.organisation_id, NEW.id);
        PERFORM app.evaluate_risk_rules(NEW.organisation_id, NEW.id, NULL, now());
        RETURN NULL;
    END IF;
    FOR e IN
        SELECT en.organisation_id, en.id FROM app.engagements en
        WHERE en.organisation_id = changed.organisation_id AND en.journey_stage = changed.journey_stage
          AND (changed.template_id IS NULL OR en.template_id = changed.template_id)
    LOOP
        PERFORM app.recompute_engagement_health(e.organisation_id, e.id);
        PERFORM app.evaluate_risk_rules(e.organisation_id, e.id, NULL, now());
    END LOOP;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.rescore_for_stage_model() FROM PUBLIC;

DROP TRIGGER IF EXISTS engagements_stage_rescore ON app.engagements;
CREATE TRIGGER engagements_stage_rescore AFTER UPDATE OF journey_stage ON app.engagements
    FOR EACH ROW WHEN (NEW.journey_stage IS DISTINCT FROM OLD.journey_stage)
    EXECUTE FUNCTION app.rescore_for_stage_model();
DROP TRIGGER IF EXISTS stage_health_models_rescore ON app.stage_health_models;
CREATE TRIGGER stage_health_models_rescore AFTER INSERT OR UPDATE OR DELETE ON app.stage_health_models
    FOR EACH ROW EXECUTE FUNCTION app.rescore_for_stage_model();
DROP TRIGGER IF EXISTS stage_health_models_audit ON app.stage_health_models;
CREATE TRIGGER stage_health_models_audit AFTER INSERT OR UPDATE OR DELETE ON app.stage_health_models
    FOR EACH ROW EXECUTE FUNCTION app.audit();

CREATE OR REPLACE FUNCTION api.stage_health_model_json(s app.stage_health_models) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('template_id', s.template_id, 'journey_stage', s.journey_stage, 'model_id', s.model_id,
                              'model_name', (SELECT m.name FROM app.health_models m
                                             WHERE m.organisation_id = s.organisation_id AND m.id = s.model_id))
$$;

-- health_model.set_stage_model: the model for a journey stage, for the organisation or one template (template_id);
-- model_id null removes the choice (the next in line applies).
CREATE OR REPLACE FUNCTION api.health_model_set_stage_model(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    paths constant jsonb := '{"stage_health_models_template_fk": "template_id", "stage_health_models_model_fk": "model_id"}';
    template uuid := (p ->> 'template_id')::uuid;
    written app.stage_health_models;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF p ->> 'model_id' IS NULL THEN
        DELETE FROM app.stage_health_models
        WHERE template_id IS NOT DISTINCT FROM template AND journey_stage = p ->> 'journey_stage';
        RETURN jsonb_build_object('template_id', template, 'journey_stage', p ->> 'journey_stage', 'model_id', NULL,
                                  'model_name', NULL);
    END IF;
    INSERT INTO app.stage_health_models AS s (organisation_id, template_id, journey_stage, model_id)
    VALUES (app.current_organisation_id(), template, p ->> 'journey_stage', (p ->> 'model_id')::uuid)
    ON CONFLICT ON CONSTRAINT stage_health_models_unique DO UPDATE SET model_id = EXCLUDED.model_id
    RETURNING * INTO written;
    RETURN api.stage_health_model_json(written);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

-- health_model.stage_models: every stage choice, the organisation's first, then by template and stage.
CREATE OR REPLACE FUNCTION api.health_model_stage_models(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(api.stage_health_model_json(s) ORDER BY s.template_id NULLS FIRST,
                         array_position(ARRAY['onboarding', 'adoption', 'monitoring', 'expansion', 'renewal', 'lost'], s.journey_stage))
        FROM app.stage_health_models s
        WHERE s.organisation_id = app.current_organisation_id()
          AND (p ->> 'template_id' IS NULL OR s.template_id = (p ->> 'template_id')::uuid)), '[]'::jsonb);
END
$$;

REVOKE ALL ON FUNCTION api.stage_health_model_json(app.stage_health_models), api.health_model_set_stage_model(jsonb),
    api.health_model_stage_models(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.stage_health_model_json(app.stage_health_models), api.health_model_set_stage_model(jsonb),
    api.health_model_stage_models(jsonb) TO engagement_app;

-- For DBAs: the stage choices, with names.
CREATE OR REPLACE VIEW reporting.stage_health_models WITH (security_barrier) AS
SELECT s.template_id, t.name AS template_name, s.journey_stage, s.model_id, m.name AS model_name, s.created_at
FROM app.stage_health_models s
JOIN app.health_models m ON m.organisation_id = s.organisation_id AND m.id = s.model_id
LEFT JOIN app.engagement_templates t ON t.organisation_id = s.organisation_id AND t.id = s.template_id
WHERE s.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.stage_health_models TO engagement_reporting;
