-- Journey stages: onboarding, adoption, monitoring (steady state), expansion, renewal, and lost (terminal for the
-- relationship). Any stage may follow any other (journeys go back: a renewal can start a new onboarding), except
-- that nothing follows lost, and an archived engagement keeps its stage. Every change is recorded with who, when
-- and why, whether it comes from engagement.set_stage or from psql.

CREATE OR REPLACE FUNCTION app.check_journey_stage() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.journey_stage = OLD.journey_stage THEN
        RETURN NEW;
    END IF;
    IF OLD.journey_stage = 'lost' THEN
        RAISE EXCEPTION 'a lost engagement stays lost' USING ERRCODE = 'ES011', HINT = 'stage_terminal';
    END IF;
    IF OLD.status = 'archived' THEN
        RAISE EXCEPTION 'an archived engagement keeps its journey stage' USING ERRCODE = 'ES012', HINT = 'archived';
    END IF;
    NEW.journey_stage_changed_at := now();
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS engagements_journey_stage_check ON app.engagements;
CREATE TRIGGER engagements_journey_stage_check BEFORE UPDATE OF journey_stage ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.check_journey_stage();

-- Definer: clients read the history but cannot write it.
CREATE OR REPLACE FUNCTION app.record_journey_stage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.journey_stage <> OLD.journey_stage THEN
        INSERT INTO app.engagement_stage_changes (organisation_id, engagement_id, from_stage, to_stage, changed_by, reason)
        VALUES (NEW.organisation_id, NEW.id, OLD.journey_stage, NEW.journey_stage,
                nullif(current_setting('app.user_id', true), '')::uuid,
                coalesce(current_setting('app.stage_reason', true), ''));
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.record_journey_stage() FROM PUBLIC;

DROP TRIGGER IF EXISTS engagements_journey_stage_record ON app.engagements;
CREATE TRIGGER engagements_journey_stage_record AFTER UPDATE OF journey_stage ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.record_journey_stage();

-- engagement.set_stage: a versioned change of the stage, with the reason the record keeps.
CREATE OR REPLACE FUNCTION api.engagement_set_stage(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    current app.engagements;
BEGIN
    SELECT * INTO current FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF current.journey_stage = p ->> 'stage' THEN
        PERFORM api.invalid_param('stage', 'is the current stage');
    END IF;
    PERFORM set_config('app.stage_reason', coalesce(p ->> 'reason', ''), true);
    RETURN api.engagement_change(p, jsonb_build_object('journey_stage', p ->> 'stage'));
END
$$;

-- engagement.stages: the stage history, oldest first.
CREATE OR REPLACE FUNCTION api.engagement_stages(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.engagements;
BEGIN
    SELECT * INTO item FROM app.engagements WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN jsonb_build_object(
        'stage', item.journey_stage, 'changed_at', item.journey_stage_changed_at,
        'history', coalesce((
            SELECT jsonb_agg(jsonb_build_object('from', c.from_stage, 'to', c.to_stage, 'changed_by', c.changed_by,
                                                'changed_at', c.changed_at, 'reason', c.reason) ORDER BY c.id)
            FROM app.engagement_stage_changes c
            WHERE c.organisation_id = item.organisation_id AND c.engagement_id = item.id), '[]'::jsonb));
END
$$;

REVOKE ALL ON FUNCTION api.engagement_set_stage(jsonb), api.engagement_stages(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.engagement_set_stage(jsonb), api.engagement_stages(jsonb) TO engagement_app;

-- For DBAs: every stage change of the organisation's engagements.
CREATE OR REPLACE VIEW reporting.journey_stage_changes WITH (security_barrier) AS
SELECT c.engagement_id, e.code AS engagement_code, c.from_stage, c.to_stage, c.changed_by, u.email AS changed_by_email,
       c.changed_at, c.reason
FROM app.engagement_stage_changes c
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
LEFT JOIN app.users u ON u.organisation_id = c.organisation_id AND u.id = c.changed_by
WHERE c.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.journey_stage_changes TO engagement_reporting;
