-- Playbooks: step-by-step guidance. A playbook is an ordered list of steps (title, owner role, due offset in days
-- from the start, optional conditions on the engagement's journey stage and health band). Starting it on an
-- engagement makes a run whose tasks are the steps whose conditions hold then; a run completes when every task is
-- done or skipped. At most one running instance of a playbook per engagement. psql writes obey the same rules.

-- Steps as stored: psql writes are checked like the API's (EV030 names the step).
CREATE OR REPLACE FUNCTION app.check_playbook() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    step jsonb;
    i integer := 0;
BEGIN
    IF jsonb_array_length(NEW.steps) = 0 THEN
        RAISE EXCEPTION 'needs at least one step' USING ERRCODE = 'EV030', COLUMN = 'steps';
    END IF;
    FOR step IN SELECT value FROM jsonb_array_elements(NEW.steps) LOOP
        IF jsonb_typeof(step) <> 'object' OR length(btrim(coalesce(step ->> 'title', ''))) = 0 THEN
            RAISE EXCEPTION 'needs a title' USING ERRCODE = 'EV030', COLUMN = format('steps[%s].title', i);
        END IF;
        IF step ? 'due_offset_days' AND (jsonb_typeof(step -> 'due_offset_days') <> 'number'
                                         OR (step ->> 'due_offset_days')::numeric < 0) THEN
            RAISE EXCEPTION 'must be a number of days, 0 or more' USING ERRCODE = 'EV030', COLUMN = format('steps[%s].due_offset_days', i);
        END IF;
        IF step ? 'owner_role' AND app.role_rank(step ->> 'owner_role') = 0 THEN
            RAISE EXCEPTION 'must be viewer, member, manager or admin' USING ERRCODE = 'EV030', COLUMN = format('steps[%s].owner_role', i);
        END IF;
        i := i + 1;
    END LOOP;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS playbooks_check ON app.playbooks;
CREATE TRIGGER playbooks_check BEFORE INSERT OR UPDATE OF steps ON app.playbooks FOR EACH ROW EXECUTE FUNCTION app.check_playbook();
DROP TRIGGER IF EXISTS playbooks_touch ON app.playbooks;
CREATE TRIGGER playbooks_touch BEFORE UPDATE ON app.playbooks FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS playbooks_audit ON app.playbooks;
CREATE TRIGGER playbooks_audit AFTER INSERT OR UPDATE OR DELETE ON app.playbooks FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS playbook_runs_audit ON app.playbook_runs;
CREATE TRIGGER playbook_runs_audit AFTER INSERT OR UPDATE OR DELETE ON app.playbook_runs FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS playbook_tasks_touch ON app.playbook_tasks;
CREATE TRIGGER playbook_tasks_touch BEFORE UPDATE ON app.playbook_tasks FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS playbook_tasks_audit ON app.playbook_tasks;
CREATE TRIGGER playbook_tasks_audit AFTER INSERT OR UPDATE OR DELETE ON app.playbook_tasks FOR EACH ROW EXECUTE FUNCTION app.audit();

-- A task of a finished run stays as it is; done and skipped stamp done_at, todo and doing clear it.
CREATE OR REPLACE FUNCTION app.check_playbook_task() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF (SELECT status FROM app.playbook_runs WHERE organisation_id = NEW.organisation_id AND id = NEW.run_id) <> 'running' THEN
        RAISE EXCEPTION 'the playbook run is finished' USING ERRCODE = 'ES014', HINT = 'run_finished';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.done_at := CASE WHEN NEW.status IN ('done', 'skipped') THEN now() END;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS playbook_tasks_check ON app.playbook_tasks;
CREATE TRIGGER playbook_tasks_check BEFORE UPDATE ON app.playbook_tasks FOR EACH ROW EXECUTE FUNCTION app.check_playbook_task();

-- The run completes when its last open task is done or skipped.
CREATE OR REPLACE FUNCTION app.complete_playbook_run() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE app.playbook_runs r SET status = 'completed', finished_at = now()
    WHERE r.organisation_id = NEW.organisation_id AND r.id = NEW.run_id AND r.status = 'running'
      AND NOT EXISTS (SELECT FROM app.playbook_tasks t WHERE t.organisation_id = r.organisation_id AND t.run_id = r.id
                      AND t.status IN ('todo', 'doing'));
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS playbook_tasks_complete ON app.playbook_tasks;
CREATE TRIGGER playbook_tasks_complete AFTER UPDATE OF status ON app.playbook_tasks
    FOR EACH ROW WHEN (NEW.status IN ('done', 'skipped')) EXECUTE FUNCTION app.complete_playbook_run();

CREATE OR REPLACE FUNCTION app.playbook_json(b app.playbooks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', b.id, 'name', b.name, 'description', b.description, 'steps', b.steps,
                              'archived', b.archived_at IS NOT NULL, 'version', b.version,
                              'created_at', b.created_at, 'updated_at', b.updated_at)
$$;

CREATE OR REPLACE FUNCTION app.playbook_task_json(t app.playbook_tasks) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', t.id, 'run_id', t.run_id, 'position', t.position, 'title', t.title,
                              'owner_role', t.owner_role, 'owner_user_id', t.owner_user_id, 'due_date', t.due_date,
                              'status', t.status, 'done_at', t.done_at,
                              'overdue', t.status IN ('todo', 'doing') AND coalesce(t.due_date < current_date, false),
                              'version', t.version)
$$;

CREATE OR REPLACE FUNCTION app.playbook_run_json(r app.playbook_runs) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', r.id, 'playbook_id', r.playbook_id,
        'playbook', (SELECT b.name FROM app.playbooks b WHERE b.organisation_id = r.organisation_id AND b.id = r.playbook_id),
        'engagement_id', r.engagement_id, 'status', r.status, 'started_at', r.started_at, 'started_by', r.started_by,
        'finished_at', r.finished_at,
        'tasks', coalesce((SELECT jsonb_agg(app.playbook_task_json(t) ORDER BY t.position) FROM app.playbook_tasks t
                           WHERE t.organisation_id = r.organisation_id AND t.run_id = r.id), '[]'::jsonb),
        'progress', (SELECT jsonb_build_object('tasks', count(*), 'finished', count(*) FILTER (WHERE t.status IN ('done', 'skipped'))) 
                     FROM app.playbook_tasks t WHERE t.organisation_id = r.organisation_id AND t.run_id = r.id))
$$;

CREATE OR REPLACE FUNCTION api.playbook_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    paths constant jsonb := '{"playbooks_name_unique": "name"}';
    reply jsonb := api.replay('playbook.create', p);
    created app.playbooks;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.playbooks (organisation_id, name, description, steps, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'name'), coalesce(p ->> 'description', ''), p -> 'steps',
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('playbook.create', p, app.playbook_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

CREATE OR REPLACE FUNCTION api.playbook_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.playbooks;
BEGIN
    SELECT * INTO item FROM app.playbooks WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.playbook_json(item);
END
$$;

-- New steps apply to later starts; running instances keep their tasks.
CREATE OR REPLACE FUNCTION api.playbook_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    paths constant jsonb := '{"playbooks_name_unique": "name"}';
    current_version integer;
    updated app.playbooks;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.playbooks row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        description = coalesce(p ->> 'description', row.description),
        steps = coalesce(p -> 'steps', row.steps),
        archived_at = CASE WHEN NOT p ? 'archived' THEN row.archived_at
                           WHEN (p ->> 'archived')::boolean THEN coalesce(row.archived_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.playbooks WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.playbook_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

CREATE OR REPLACE FUNCTION api.playbook_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.playbooks', 'app.playbook_json',
        $filter$
            ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q'))
        AND (coalesce(($1 ->> 'include_archived')::boolean, false) OR row.archived_at IS NULL)
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- Starts a playbook on an engagement: a task per step whose conditions hold now (stage, current health band),
-- due the step's offset after today.
CREATE OR REPLACE FUNCTION api.playbook_start(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('playbook.start', p);
    paths constant jsonb := '{"playbook_runs_playbook_fk": "playbook_id", "playbook_runs_engagement_fk": "engagement_id"}';
    playbook app.playbooks;
    engagement app.engagements;
    band text;
    run app.playbook_runs;
    step jsonb;
    idx integer := 0;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    engagement := api.engagement_of(p);
    SELECT * INTO playbook FROM app.playbooks WHERE id = (p ->> 'playbook_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.invalid_param('playbook_id', 'does not exist');
    END IF;
    IF playbook.archived_at IS NOT NULL THEN
        PERFORM api.invalid_param('playbook_id', 'is archived');
    END IF;
    IF engagement.status = 'archived' THEN
        RAISE EXCEPTION 'an archived engagement gets no new playbooks' USING ERRCODE = 'ES012', HINT = 'archived';
    END IF;
    IF EXISTS (SELECT FROM app.playbook_runs WHERE engagement_id = engagement.id AND playbook_id = playbook.id
               AND status = 'running') THEN
        RAISE EXCEPTION 'this playbook is already running on this engagement' USING ERRCODE = 'ES013', HINT = 'playbook_running';
    END IF;
    band := coalesce((SELECT h.band FROM app.current_health(engagement.organisation_id, engagement.id, now()) h), 'unknown');
    INSERT INTO app.playbook_runs (organisation_id, playbook_id, engagement_id, started_by)
    VALUES (engagement.organisation_id, playbook.id, engagement.id, app.current_user_id())
    RETURNING * INTO run;
    FOR step IN SELECT value FROM jsonb_array_elements(playbook.steps) LOOP
        IF (NOT step ? 'stages' OR step -> 'stages' ? engagement.journey_stage)
           AND (NOT step ? 'bands' OR step -> 'bands' ? band) THEN
            INSERT INTO app.playbook_tasks (organisation_id, run_id, position, title, owner_role, due_date, created_by, updated_by)
            VALUES (run.organisation_id, run.id, idx, step ->> 'title', step ->> 'owner_role',
                    current_date + coalesce((step ->> 'due_offset_days')::integer, 0), app.current_user_id(), app.current_user_id());
            idx := idx + 1;
        END IF;
    END LOOP;
    IF idx = 0 THEN
        PERFORM api.invalid_param('playbook_id', 'has no step whose conditions hold for this engagement');
    END IF;
    RETURN api.remember('playbook.start', p, app.playbook_run_json(run));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF failed_constraint = 'playbook_runs_one_running' THEN
        RAISE EXCEPTION 'this playbook is already running on this engagement' USING ERRCODE = 'ES013', HINT = 'playbook_running';
    END IF;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

CREATE OR REPLACE FUNCTION api.playbook_run_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.playbook_runs;
BEGIN
    SELECT * INTO item FROM app.playbook_runs WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.playbook_run_json(item);
END
$$;

-- An engagement's runs, newest first.
CREATE OR REPLACE FUNCTION api.playbook_run_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(app.playbook_run_json(r) ORDER BY r.started_at DESC, r.id)
        FROM app.playbook_runs r
        WHERE r.organisation_id = engagement.organisation_id AND r.engagement_id = engagement.id
          AND (p ->> 'status' IS NULL OR r.status = p ->> 'status')), '[]'::jsonb);
END
$$;

CREATE OR REPLACE FUNCTION api.playbook_run_cancel(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.playbook_runs;
BEGIN
    SELECT * INTO item FROM app.playbook_runs WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF item.status <> 'running' THEN
        RAISE EXCEPTION 'the playbook run is finished' USING ERRCODE = 'ES014', HINT = 'run_finished';
    END IF;
    UPDATE app.playbook_runs SET status = 'cancelled', finished_at = now() WHERE id = item.id RETURNING * INTO item;
    RETURN app.playbook_run_json(item);
END
$$;

-- A task's status (done and skipped stamp done_at; the run completes with its last open task), owner, due date.
CREATE OR REPLACE FUNCTION api.playbook_task_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_due_date date := (p ->> 'due_date')::date;
    paths constant jsonb := '{"playbook_tasks_owner_fk": "owner_user_id"}';
    current_version integer;
    updated app.playbook_tasks;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.playbook_tasks row SET
        status = coalesce(p ->> 'status', row.status),
        owner_user_id = CASE WHEN p ? 'owner_user_id' THEN (p ->> 'owner_user_id')::uuid ELSE row.owner_user_id END,
        due_date = CASE WHEN p ? 'due_date' THEN v_due_date ELSE row.due_date END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.playbook_tasks WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.playbook_task_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT paths ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, paths);
END
$$;

REVOKE ALL ON FUNCTION app.playbook_json(app.playbooks), app.playbook_task_json(app.playbook_tasks),
    app.playbook_run_json(app.playbook_runs), api.playbook_create(jsonb), api.playbook_get(jsonb),
    api.playbook_update(jsonb), api.playbook_list(jsonb), api.playbook_start(jsonb), api.playbook_run_get(jsonb),
    api.playbook_run_list(jsonb), api.playbook_run_cancel(jsonb), api.playbook_task_update(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.playbook_json(app.playbooks), app.playbook_task_json(app.playbook_tasks),
    app.playbook_run_json(app.playbook_runs), api.playbook_create(jsonb), api.playbook_get(jsonb),
    api.playbook_update(jsonb), api.playbook_list(jsonb), api.playbook_start(jsonb), api.playbook_run_get(jsonb),
    api.playbook_run_list(jsonb), api.playbook_run_cancel(jsonb), api.playbook_task_update(jsonb) TO engagement_app;

-- For DBAs.
CREATE OR REPLACE VIEW reporting.playbooks WITH (security_barrier) AS
SELECT b.id, b.name, b.description, jsonb_array_length(b.steps) AS step_count, b.steps, b.archived_at, b.version,
       b.created_at, b.updated_at
FROM app.playbooks b
WHERE b.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.playbooks TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.playbook_tasks WITH (security_barrier) AS
SELECT t.id, t.run_id, r.status AS run_status, r.playbook_id, b.name AS playbook_name, r.engagement_id,
       e.code AS engagement_code, t.position, t.title, t.owner_role, t.owner_user_id, t.due_date, t.status, t.done_at,
       t.status IN ('todo', 'doing') AND coalesce(t.due_date < current_date, false) AS overdue, r.started_at
FROM app.playbook_tasks t
JOIN app.playbook_runs r ON r.organisation_id = t.organisation_id AND r.id = t.run_id
JOIN app.playbooks b ON b.organisation_id = r.organisation_id AND b.id = r.playbook_id
JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
WHERE t.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.playbook_tasks TO engagement_reporting;
