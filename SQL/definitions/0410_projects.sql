-- Projects under an engagement and their deliverables (tables: migration 0041_projects_and_commitments.sql).
-- A deliverable moves planned → in progress → submitted → accepted or rejected (rework goes back to in progress
-- or straight to submitted; back to planned from in progress); accepted is final. Acceptance is stamped with who
-- and when (a past time may be given, as when an acceptance is recorded late; never a future one). A deliverable
-- may fulfil a deliverable commitment of its engagement's contract (0411_commitments.sql).

-- Every organisation has its commercial settings row (0411 has its methods).
CREATE OR REPLACE FUNCTION app.create_commercial_settings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.commercial_settings (organisation_id) VALUES (NEW.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.create_commercial_settings() FROM PUBLIC;
DROP TRIGGER IF EXISTS organisations_commercial_settings ON app.organisations;
CREATE TRIGGER organisations_commercial_settings AFTER INSERT ON app.organisations
    FOR EACH ROW EXECUTE FUNCTION app.create_commercial_settings();

CREATE OR REPLACE FUNCTION app.deliverable_moves() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"planned": ["in_progress", "submitted"], "in_progress": ["planned", "submitted"],
             "submitted": ["accepted", "rejected", "in_progress"], "rejected": ["in_progress", "submitted"],
             "accepted": []}'::jsonb
$$;

CREATE OR REPLACE FUNCTION app.check_deliverable() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = 'accepted' AND NEW IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'an accepted deliverable is final' USING ERRCODE = 'ES020', HINT = 'deliverable_accepted';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.status NOT IN ('planned', 'in_progress') THEN
        RAISE EXCEPTION 'a deliverable starts planned or in progress' USING ERRCODE = 'EV001', CONSTRAINT = 'deliverables_status_start';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status <> OLD.status THEN
        IF NOT app.deliverable_moves() -> OLD.status ? NEW.status THEN
            RAISE EXCEPTION 'a deliverable cannot move from % to %', OLD.status, NEW.status
                USING ERRCODE = 'ES020', HINT = 'illegal_transition';
        END IF;
        IF NEW.status = 'submitted' THEN
            NEW.submitted_at := now();
        END IF;
        IF NEW.status = 'accepted' THEN
            NEW.accepted_at := CASE WHEN NEW.accepted_at IS DISTINCT FROM OLD.accepted_at THEN NEW.accepted_at ELSE now() END;
            NEW.accepted_by := app.current_user_id();
        END IF;
    END IF;
    IF NEW.status <> 'accepted' AND NEW.accepted_at IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.accepted_at IS DISTINCT FROM OLD.accepted_at) THEN
        RAISE EXCEPTION 'only an acceptance has a time' USING ERRCODE = 'EV001', CONSTRAINT = 'deliverables_accepted_at';
    END IF;
    IF NEW.accepted_at > now() THEN
        RAISE EXCEPTION 'cannot be in the future' USING ERRCODE = 'EV001', CONSTRAINT = 'deliverables_accepted_at';
    END IF;
    IF NEW.commitment_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.commitment_id IS DISTINCT FROM OLD.commitment_id) AND NOT EXISTS (
        SELECT FROM app.commitments c
        JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = NEW.engagement_id AND e.contract_id = c.contract_id
        WHERE c.organisation_id = NEW.organisation_id AND c.id = NEW.commitment_id AND c.kind = 'deliverable'
          AND (NOT EXISTS (SELECT FROM app.commitment_engagements l WHERE l.organisation_id = c.organisation_id AND l.commitment_id = c.id)
               OR EXISTS (SELECT FROM app.commitment_engagements l WHERE l.organisation_id = c.organisation_id
                                                                    AND l.commitment_id = c.id AND l.engagement_id = NEW.engagement_id))) THEN
        RAISE EXCEPTION 'must be a deliverable commitment of the engagement''s contract'
            USING ERRCODE = 'EV005', CONSTRAINT = 'deliverables_commitment';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS deliverables_check ON app.deliverables;
CREATE TRIGGER deliverables_check BEFORE INSERT OR UPDATE ON app.deliverables FOR EACH ROW EXECUTE FUNCTION app.check_deliverable();

DROP TRIGGER IF EXISTS projects_touch ON app.projects;
CREATE TRIGGER projects_touch BEFORE UPDATE ON app.projects FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS projects_audit ON app.projects;
CREATE TRIGGER projects_audit AFTER INSERT OR UPDATE OR DELETE ON app.projects FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS deliverables_touch ON app.deliverables;
CREATE TRIGGER deliverables_touch BEFORE UPDATE ON app.deliverables FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS deliverables_audit ON app.deliverables;
CREATE TRIGGER deliverables_audit AFTER INSERT OR UPDATE OR DELETE ON app.deliverables FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS deliverables_rollup_stale ON app.deliverables;
CREATE TRIGGER deliverables_rollup_stale AFTER INSERT OR UPDATE OR DELETE ON app.deliverables
    FOR EACH STATEMENT EXECUTE FUNCTION app.notify_rollup_stale();

CREATE OR REPLACE FUNCTION app.deliverable_json(d app.deliverables) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', d.id, 'project_id', d.project_id, 'engagement_id', d.engagement_id, 'title', d.title,
        'owner_user_id', d.owner_user_id, 'due_date', d.due_date, 'status', d.status,
        'overdue', d.status <> 'accepted' AND coalesce(d.due_date < current_date, false),
        'commitment_id', d.commitment_id, 'submitted_at', d.submitted_at, 'accepted_at', d.accepted_at,
        'accepted_by', d.accepted_by, 'version', d.version, 'created_at', d.created_at, 'updated_at', d.updated_at)
$$;

CREATE OR REPLACE FUNCTION app.project_json(p app.projects) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', p.id, 'engagement_id', p.engagement_id, 'name', p.name, 'owner_user_id', p.owner_user_id,
        'start_date', p.start_date, 'end_date', p.end_date, 'status', p.status,
        'deliverables', coalesce((SELECT jsonb_agg(app.deliverable_json(d) ORDER BY d.created_at, d.id) FROM app.deliverables d
                                  WHERE d.organisation_id = p.organisation_id AND d.project_id = p.id), '[]'::jsonb),
        'version', p.version, 'created_at', p.created_at, 'updated_at', p.updated_at)
$$;

CREATE OR REPLACE FUNCTION api.project_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"projects_engagement_fk": "engagement_id", "projects_owner_fk": "owner_user_id", "projects_dates": "end_date",
             "deliverables_project_fk": "project_id", "deliverables_owner_fk": "owner_user_id",
             "deliverables_commitment_fk": "commitment_id", "deliverables_commitment": "commitment_id",
             "deliverables_status_start": "status", "deliverables_accepted_at": "accepted_at"}'::jsonb
$$;

-- Adds one deliverable to a project; errors name their place under p_path (deliverables[1].) in project.create.
CREATE OR REPLACE FUNCTION api.add_deliverable(p_project app.projects, p jsonb, p_path text) RETURNS app.deliverables
LANGUAGE plpgsql
AS $$
DECLARE
    added app.deliverables;
    state text;
    failed_constraint text;
    message text;
BEGIN
    INSERT INTO app.deliverables (organisation_id, engagement_id, project_id, title, owner_user_id, due_date, status, commitment_id,
                                  created_by, updated_by)
    VALUES (p_project.organisation_id, p_project.engagement_id, p_project.id, btrim(p ->> 'title'), (p ->> 'owner_user_id')::uuid,
            (p ->> 'due_date')::date, coalesce(p ->> 'status', 'planned'), (p ->> 'commitment_id')::uuid,
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO added;
    RETURN added;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.project_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, jsonb_build_object(failed_constraint, p_path || (api.project_paths() ->> failed_constraint)));
END
$$;

CREATE OR REPLACE FUNCTION api.project_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('project.create', p);
    created app.projects;
    item record;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    BEGIN
        INSERT INTO app.projects (organisation_id, engagement_id, name, owner_user_id, start_date, end_date, status, created_by, updated_by)
        VALUES (app.current_organisation_id(), (p ->> 'engagement_id')::uuid, btrim(p ->> 'name'), (p ->> 'owner_user_id')::uuid,
                (p ->> 'start_date')::date, (p ->> 'end_date')::date, coalesce(p ->> 'status', 'planned'),
                app.current_user_id(), app.current_user_id())
        RETURNING * INTO created;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
        IF NOT api.project_paths() ? failed_constraint THEN
            RAISE;
        END IF;
        PERFORM api.reraise(state, failed_constraint, message, api.project_paths());
    END;
    FOR item IN SELECT value, ordinality - 1 AS index FROM jsonb_array_elements(coalesce(p -> 'deliverables', '[]')) WITH ORDINALITY LOOP
        PERFORM api.add_deliverable(created, item.value, format('deliverables[%s].', item.index));
    END LOOP;
    RETURN api.remember('project.create', p, app.project_json(created));
END
$$;

CREATE OR REPLACE FUNCTION api.project_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.projects;
BEGIN
    SELECT * INTO item FROM app.projects WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.project_json(item);
END
$$;

CREATE OR REPLACE FUNCTION api.project_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_end_date date := (p ->> 'end_date')::date;
    v_start_date date := (p ->> 'start_date')::date;
    current_version integer;
    updated app.projects;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.projects row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        status = coalesce(p ->> 'status', row.status),
        owner_user_id = CASE WHEN p ? 'owner_user_id' THEN (p ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        start_date = CASE WHEN p ? 'start_date' THEN v_start_date ELSE row.start_date END,
        end_date = CASE WHEN p ? 'end_date' THEN v_end_date ELSE row.end_date END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.projects WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.project_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.project_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.project_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.project_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.projects') $$;

CREATE OR REPLACE FUNCTION api.project_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.projects', 'app.project_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'status' IS NULL OR row.status = $1 ->> 'status')
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

CREATE OR REPLACE FUNCTION api.deliverable_add(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('deliverable.add', p);
    project app.projects;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    SELECT * INTO project FROM app.projects WHERE id = (p ->> 'project_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN api.remember('deliverable.add', p, app.deliverable_json(api.add_deliverable(project, p, '')));
END
$$;

-- Absent fields stay; owner, due date and commitment: null clears them; accepted_at only with the acceptance.
CREATE OR REPLACE FUNCTION api.deliverable_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_accepted_at timestamptz := (p ->> 'accepted_at')::timestamptz;
    v_due_date date := (p ->> 'due_date')::date;
    current_version integer;
    updated app.deliverables;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.deliverables row SET
        title = coalesce(btrim(p ->> 'title'), row.title),
        status = coalesce(p ->> 'status', row.status),
        owner_user_id = CASE WHEN p ? 'owner_user_id' THEN (p ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        due_date = CASE WHEN p ? 'due_date' THEN v_due_date ELSE row.due_date END,
        commitment_id = CASE WHEN p ? 'commitment_id' THEN (p ->> 'commitment_id')::uuid ELSE row.commitment_id END,
        accepted_at = coalesce(v_accepted_at, row.accepted_at)
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.deliverables WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.deliverable_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.project_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.project_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.deliverable_delete(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$ SELECT api.versioned_delete(p, 'app.deliverables') $$;

CREATE OR REPLACE FUNCTION api.deliverable_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.deliverables', 'app.deliverable_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'project_id' IS NULL OR row.project_id = ($1 ->> 'project_id')::uuid)
        AND ($1 ->> 'commitment_id' IS NULL OR row.commitment_id = ($1 ->> 'commitment_id')::uuid)
        AND ($1 ->> 'status' IS NULL OR row.status = $1 ->> 'status')
        AND ($1 ->> 'owner_user_id' IS NULL OR row.owner_user_id = ($1 ->> 'owner_user_id')::uuid)
        AND (NOT coalesce(($1 ->> 'overdue')::boolean, false) OR (row.status <> 'accepted' AND row.due_date < current_date))
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}', 'created_at');
END
$$;

REVOKE ALL ON FUNCTION app.deliverable_json(app.deliverables), app.project_json(app.projects), api.project_paths(),
    api.add_deliverable(app.projects, jsonb, text), api.project_create(jsonb), api.project_get(jsonb), api.project_update(jsonb),
    api.project_delete(jsonb), api.project_list(jsonb), api.deliverable_add(jsonb), api.deliverable_update(jsonb),
    api.deliverable_delete(jsonb), api.deliverable_list(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.deliverable_json(app.deliverables), app.project_json(app.projects), api.project_paths(),
    api.add_deliverable(app.projects, jsonb, text), api.project_create(jsonb), api.project_get(jsonb), api.project_update(jsonb),
    api.project_delete(jsonb), api.project_list(jsonb), api.deliverable_add(jsonb), api.deliverable_update(jsonb),
    api.deliverable_delete(jsonb), api.deliverable_list(jsonb) TO engagement_app;

CREATE OR REPLACE VIEW reporting.projects WITH (security_barrier) AS
SELECT p.id, p.engagement_id, e.code AS engagement_code, p.name, p.owner_user_id, u.email AS owner_email, p.start_date,
       p.end_date, p.status, p.created_at, p.updated_at
FROM app.projects p
JOIN app.engagements e ON e.organisation_id = p.organisation_id AND e.id = p.engagement_id
LEFT JOIN app.users u ON u.organisation_id = p.organisation_id AND u.id = p.owner_user_id
WHERE p.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.projects TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.deliverables WITH (security_barrier) AS
SELECT d.id, d.project_id, p.name AS project_name, d.engagement_id, e.code AS engagement_code, d.title, d.owner_user_id,
       u.email AS owner_email, d.due_date, d.status, d.status <> 'accepted' AND coalesce(d.due_date < current_date, false) AS overdue,
       d.commitment_id, c.title AS commitment_title, d.submitted_at, d.accepted_at, a.email AS accepted_by_email,
       d.created_at, d.updated_at
FROM app.deliverables d
JOIN app.projects p ON p.organisation_id = d.organisation_id AND p.id = d.project_id
JOIN app.engagements e ON e.organisation_id = d.organisation_id AND e.id = d.engagement_id
LEFT JOIN app.commitments c ON c.organisation_id = d.organisation_id AND c.id = d.commitment_id
LEFT JOIN app.users u ON u.organisation_id = d.organisation_id AND u.id = d.owner_user_id
LEFT JOIN app.users a ON a.organisation_id = d.organisation_id AND a.id = d.accepted_by
WHERE d.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.deliverables TO engagement_reporting;
