-- Commitments of a contract and the organisation's commercial settings (tables: migration
-- 0041_projects_and_commitments.sql). A commitment's dates default to its contract's and stay within them; it
-- applies to the engagements listed (of its contract) or, with none listed, to all of the contract's. Its kind
-- never changes. Fulfilment: 0412_commitment_fulfilment.sql.

CREATE OR REPLACE FUNCTION app.check_commitment() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    contract app.contracts;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.kind <> OLD.kind THEN
        RAISE EXCEPTION 'a commitment''s kind does not change' USING ERRCODE = 'EV001', CONSTRAINT = 'commitments_kind_fixed';
    END IF;
    SELECT * INTO contract FROM app.contracts WHERE organisation_id = NEW.organisation_id AND id = NEW.contract_id;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key refuses it
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.start_date := coalesce(NEW.start_date, contract.start_date);
        NEW.end_date := coalesce(NEW.end_date, contract.end_date);
    END IF;
    IF NEW.start_date < contract.start_date THEN
        RAISE EXCEPTION 'must not be before the contract starts (%)', contract.start_date
            USING ERRCODE = 'EV001', CONSTRAINT = 'commitments_start_in_contract';
    END IF;
    IF contract.end_date IS NOT NULL AND (NEW.end_date IS NULL OR NEW.end_date > contract.end_date) THEN
        RAISE EXCEPTION 'must not be after the contract ends (%)', contract.end_date
            USING ERRCODE = 'EV001', CONSTRAINT = 'commitments_end_in_contract';
    END IF;
    IF NEW.due_date < NEW.start_date OR NEW.due_date > NEW.end_date THEN
        RAISE EXCEPTION 'must be within the commitment''s dates' USING ERRCODE = 'EV001', CONSTRAINT = 'commitments_due_in_dates';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS commitments_check ON app.commitments;
CREATE TRIGGER commitments_check BEFORE INSERT OR UPDATE ON app.commitments FOR EACH ROW EXECUTE FUNCTION app.check_commitment();
DROP TRIGGER IF EXISTS commitments_touch ON app.commitments;
CREATE TRIGGER commitments_touch BEFORE UPDATE ON app.commitments FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS commitments_audit ON app.commitments;
CREATE TRIGGER commitments_audit AFTER INSERT OR UPDATE OR DELETE ON app.commitments FOR EACH ROW EXECUTE FUNCTION app.audit();

CREATE OR REPLACE FUNCTION app.check_commitment_engagement() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM app.commitments c
                   JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = NEW.engagement_id AND e.contract_id = c.contract_id
                   WHERE c.organisation_id = NEW.organisation_id AND c.id = NEW.commitment_id) THEN
        RAISE EXCEPTION 'must be an engagement of the commitment''s contract'
            USING ERRCODE = 'EV005', CONSTRAINT = 'commitment_engagements_contract';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS commitment_engagements_check ON app.commitment_engagements;
CREATE TRIGGER commitment_engagements_check BEFORE INSERT OR UPDATE ON app.commitment_engagements
    FOR EACH ROW EXECUTE FUNCTION app.check_commitment_engagement();
DROP TRIGGER IF EXISTS commitment_engagements_audit ON app.commitment_engagements;
CREATE TRIGGER commitment_engagements_audit AFTER INSERT OR UPDATE OR DELETE ON app.commitment_engagements
    FOR EACH ROW EXECUTE FUNCTION app.audit('commitment_id');

CREATE OR REPLACE FUNCTION app.touch_commercial_settings() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    NEW.updated_by := app.current_user_id();
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS commercial_settings_touch ON app.commercial_settings;
CREATE TRIGGER commercial_settings_touch BEFORE UPDATE ON app.commercial_settings
    FOR EACH ROW EXECUTE FUNCTION app.touch_commercial_settings();
DROP TRIGGER IF EXISTS commercial_settings_audit ON app.commercial_settings;
CREATE TRIGGER commercial_settings_audit AFTER UPDATE ON app.commercial_settings
    FOR EACH ROW EXECUTE FUNCTION app.audit('organisation_id');

CREATE OR REPLACE FUNCTION api.commercial_settings(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('hours_per_fte', s.hours_per_fte, 'renewal_window_days', s.renewal_window_days,
                              'auto_renewal_opportunities', s.auto_renewal_opportunities, 'updated_at', s.updated_at)
    FROM app.commercial_settings s WHERE s.organisation_id = app.current_organisation_id()
$$;

CREATE OR REPLACE FUNCTION api.commercial_set_settings(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.commercial_settings s SET
        hours_per_fte = coalesce((p ->> 'hours_per_fte')::numeric, s.hours_per_fte),
        renewal_window_days = coalesce((p ->> 'renewal_window_days')::integer, s.renewal_window_days),
        auto_renewal_opportunities = coalesce((p ->> 'auto_renewal_opportunities')::boolean, s.auto_renewal_opportunities)
    WHERE s.organisation_id = app.current_organisation_id();
    RETURN api.commercial_settings(p);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.commitment_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.commitment_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.commitment_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"commitments_contract_fk": "contract_id", "commitments_fte": "fte", "commitments_hours": "hours",
             "commitments_shape": "kind", "commitments_dates": "end_date", "commitments_kind_fixed": "kind",
             "commitments_start_in_contract": "start_date", "commitments_end_in_contract": "end_date",
             "commitments_due_in_dates": "due_date", "commitments_role_check": "role",
             "commitment_engagements_engagement_fk": "engagement_ids", "commitment_engagements_contract": "engagement_ids",
             "commitment_engagements_pkey": "engagement_ids",
             "commercial_settings_hours_per_fte": "hours_per_fte", "commercial_settings_renewal_window": "renewal_window_days"}'::jsonb
$$;

-- Replaces the engagements a commitment applies to with p_ids (errors at engagement_ids[i]).
CREATE OR REPLACE FUNCTION api.set_commitment_engagements(p_commitment app.commitments, p_ids jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    item record;
    state text;
    failed_constraint text;
    message text;
BEGIN
    DELETE FROM app.commitment_engagements WHERE commitment_id = p_commitment.id;
    FOR item IN SELECT value::uuid AS id, ordinality - 1 AS index FROM jsonb_array_elements_text(p_ids) WITH ORDINALITY LOOP
        BEGIN
            INSERT INTO app.commitment_engagements (organisation_id, commitment_id, engagement_id)
            VALUES (p_commitment.organisation_id, p_commitment.id, item.id);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
            IF NOT api.commitment_paths() ? failed_constraint THEN
                RAISE;
            END IF;
            PERFORM api.reraise(state, failed_constraint, message, jsonb_build_object(failed_constraint, format('engagement_ids[%s]', item.index)));
        END;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION api.commitment_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('commitment.create', p);
    created app.commitments;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    BEGIN
        INSERT INTO app.commitments (organisation_id, contract_id, kind, title, fte, hours, period, role, start_date, end_date, due_date,
                                     created_by, updated_by)
        VALUES (app.current_organisation_id(), (p ->> 'contract_id')::uuid, p ->> 'kind', btrim(p ->> 'title'), (p ->> 'fte')::numeric,
                (p ->> 'hours')::numeric, coalesce(p ->> 'period', CASE WHEN p ->> 'kind' = 'deliverable' THEN 'contract' ELSE 'month' END),
                btrim(p ->> 'role'), (p ->> 'start_date')::date, (p ->> 'end_date')::date, (p ->> 'due_date')::date,
                app.current_user_id(), app.current_user_id())
        RETURNING * INTO created;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
        IF NOT api.commitment_paths() ? failed_constraint THEN
            RAISE;
        END IF;
        PERFORM api.reraise(state, failed_constraint, message, api.commitment_paths());
    END;
    PERFORM api.set_commitment_engagements(created, coalesce(p -> 'engagement_ids', '[]'));
    RETURN api.remember('commitment.create', p, app.commitment_json(created));
END
$$;

CREATE OR REPLACE FUNCTION api.commitment_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.commitments;
BEGIN
    SELECT * INTO item FROM app.commitments WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.commitment_with_fulfilment(item, to_date(p ->> 'from', 'YYYY-MM'), to_date(p ->> 'to', 'YYYY-MM'));
END
$$;

-- Absent fields stay; end_date and role: null clears; engagement_ids replaces the list ([]: all of the contract's).
CREATE OR REPLACE FUNCTION api.commitment_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_due_date date := (p ->> 'due_date')::date;
    v_end_date date := (p ->> 'end_date')::date;
    v_start_date date := (p ->> 'start_date')::date;
    current_version integer;
    updated app.commitments;
    state text;
    failed_constraint text;
    message text;
BEGIN
    BEGIN
        UPDATE app.commitments row SET
            title = coalesce(btrim(p ->> 'title'), row.title),
            fte = coalesce((p ->> 'fte')::numeric, row.fte),
            hours = coalesce((p ->> 'hours')::numeric, row.hours),
            period = coalesce(p ->> 'period', row.period),
            role = CASE WHEN p ? 'role' THEN btrim(p ->> 'role') ELSE row.role END,
            start_date = coalesce(v_start_date, row.start_date),
            end_date = CASE WHEN p ? 'end_date' THEN v_end_date ELSE row.end_date END,
            due_date = coalesce(v_due_date, row.due_date)
        WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
        RETURNING * INTO updated;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
        IF NOT api.commitment_paths() ? failed_constraint THEN
            RAISE;
        END IF;
        PERFORM api.reraise(state, failed_constraint, message, api.commitment_paths());
    END;
    IF updated.id IS NULL THEN
        SELECT version INTO current_version FROM app.commitments WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    IF p ? 'engagement_ids' THEN
        PERFORM api.set_commitment_engagements(updated, p -> 'engagement_ids');
    END IF;
    RETURN app.commitment_json(updated);
END
$$;

CREATE OR REPLACE FUNCTION api.commitment_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.commitments') $$;

CREATE OR REPLACE FUNCTION api.commitment_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.commitments', 'app.commitment_json',
        $filter$
            ($1 ->> 'contract_id' IS NULL OR row.contract_id = ($1 ->> 'contract_id')::uuid)
        AND ($1 ->> 'kind' IS NULL OR row.kind = $1 ->> 'kind')
        AND ($1 ->> 'engagement_id' IS NULL OR app.commitment_applies_to(row, ($1 ->> 'engagement_id')::uuid))
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

REVOKE ALL ON FUNCTION api.commercial_settings(jsonb), api.commercial_set_settings(jsonb), api.commitment_paths(),
    api.set_commitment_engagements(app.commitments, jsonb), api.commitment_create(jsonb), api.commitment_get(jsonb),
    api.commitment_update(jsonb), api.commitment_delete(jsonb), api.commitment_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.commercial_settings(jsonb), api.commercial_set_settings(jsonb), api.commitment_paths(),
    api.set_commitment_engagements(app.commitments, jsonb), api.commitment_create(jsonb), api.commitment_get(jsonb),
    api.commitment_update(jsonb), api.commitment_delete(jsonb), api.commitment_list(jsonb) TO engagement_app;
