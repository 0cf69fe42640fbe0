-- Bulk import (the `*.import` methods, `engagementctl import`): rows go through the very api function a single
-- create uses, so they obey its rules, audit and errors. Each entry runs in a subtransaction: one that fails is
-- reported with its field and reason and the others go on; one whose natural key is already there (its external
-- reference, code, …) is skipped, so an import can be re-run. With dry_run, or with atomic when any entry failed,
-- every write is rolled back and the report stays: entries that would have been written say `valid` (dry run) or
-- `not_written` (atomic).
--   p: {"rows": [entry], "dry_run": bool, "atomic": bool}; an entry is one create, usually one row of the file:
--      {"row": <line number>, "values": {<create params>},
--       "refused": {"field", "message"}   -- the client or the server found the row invalid already: reported, not run
--       "covers": [<line numbers>],        -- several file rows make this one create (a check-in's lines): each row
--       "at": {"<path>": <line number>},   --   gets a report, and an error at path finance[2].plan is row at[finance[2]]'s, column plan
--       "label": "check-in E-1 2025-03",   --   names the create in the other rows' reports
--       "renames": {"<param>": "<column>"}} -- the create's params that a spreadsheet names otherwise (engagement_id:
--                                           --   engagement_code): an error's field is reported as the column
--   p_create: the api create function; p_existing: a query returning the id of the entry's existing twin ($1 = values)
-- Only the api functions' own errors (SQLSTATE classes EV, EC, ES, EN: written for clients) become row failures;
-- anything else fails the whole call, as it would a single create.
CREATE OR REPLACE FUNCTION app.import_rows(p jsonb, p_create regproc, p_existing text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_entry jsonb;
    v_existing uuid;
    v_created jsonb;
    v_state text;
    v_message text;
    v_column text;
    v_hint text;
    -- One outcome per entry, appended in place (a jsonb array would be copied whole on every append); expanded
    -- into the rows' reports once at the end.
    v_outcomes jsonb[] := '{}';
    v_report jsonb;
    v_written integer := 0;
    v_failed integer := 0;
    v_skipped integer := 0;
    v_dry boolean := coalesce((p ->> 'dry_run')::boolean, false);
    v_atomic boolean := coalesce((p ->> 'atomic')::boolean, false);
    v_undone boolean := false;
    v_rows integer;
BEGIN
    BEGIN
        FOR v_entry IN SELECT e FROM jsonb_array_elements(p -> 'rows') AS e LOOP
            v_rows := coalesce(jsonb_array_length(v_entry -> 'covers'), 1);  -- the totals count file rows
            IF v_entry ? 'refused' THEN
                v_failed := v_failed + v_rows;
                v_outcomes := array_append(v_outcomes, jsonb_build_object('status', 'failed', 'reason', 'invalid')
                                                       || (v_entry -> 'refused'));
                CONTINUE;
            END IF;
            v_existing := NULL;
            EXECUTE p_existing INTO v_existing USING v_entry -> 'values';
            IF v_existing IS NOT NULL THEN
                v_skipped := v_skipped + v_rows;
                v_outcomes := array_append(v_outcomes, jsonb_build_object('status', 'skipped', 'id', v_existing));
                CONTINUE;
            END IF;
            BEGIN
                EXECUTE format('SELECT %s($1)', p_create) INTO v_created USING v_entry -> 'values';
                v_written := v_written + v_rows;
                v_outcomes := array_append(v_outcomes, jsonb_build_object('status', 'written', 'id', v_created -> 'id'));
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_column = COLUMN_NAME,
                    v_hint = PG_EXCEPTION_HINT;
                IF left(v_state, 2) NOT IN ('EV', 'EC', 'ES', 'EN') THEN
                    RAISE;
                END IF;
                v_failed := v_failed + v_rows;
                v_outcomes := array_append(v_outcomes, jsonb_build_object(
                    'status', 'failed', 'field', nullif(v_column, ''), 'message', v_message,
                    'reason', coalesce(nullif(v_hint, ''), CASE left(v_state, 2) WHEN 'EV' THEN 'invalid'
                                                                                 WHEN 'EN' THEN 'not_found' ELSE 'refused' END)));
            END;
        END LOOP;
        IF v_dry OR (v_atomic AND v_failed > 0) THEN
            v_undone := true;
            RAISE EXCEPTION 'undo the import' USING ERRCODE = 'EX000';
        END IF;
    EXCEPTION WHEN SQLSTATE 'EX000' THEN
        NULL;  -- every write of the block is rolled back; the outcomes (a variable) stay
    END;
    SELECT coalesce(jsonb_agg(r ORDER BY n, m), '[]') INTO v_report
    FROM jsonb_array_elements(p -> 'rows') WITH ORDINALITY AS e(entry, n)
    CROSS JOIN LATERAL jsonb_array_elements(CASE
        WHEN v_outcomes[n] ->> 'status' = 'failed'
            THEN app.import_failure(entry, v_outcomes[n] ->> 'field', v_outcomes[n] ->> 'reason', v_outcomes[n] ->> 'message')
        WHEN v_undone AND v_outcomes[n] ->> 'status' = 'written'
            THEN app.import_outcome(entry, CASE WHEN v_dry THEN 'valid' ELSE 'not_written' END, NULL)
        ELSE app.import_outcome(entry, v_outcomes[n] ->> 'status', (v_outcomes[n] ->> 'id')::uuid) END) WITH ORDINALITY AS x(r, m);
    IF p ? 'import_id' THEN
        -- A staged import can be a hundred thousand rows: its answer lists the failed ones, its totals count all.
        SELECT coalesce(jsonb_agg(r ORDER BY n), '[]') INTO v_report
        FROM jsonb_array_elements(v_report) WITH ORDINALITY AS x(r, n) WHERE r ->> 'status' = 'failed';
    END IF;
    RETURN jsonb_build_object('rows', v_report, 'written', CASE WHEN v_undone THEN 0 ELSE v_written END,
                              'skipped', v_skipped, 'failed', v_failed, 'dry_run', v_dry);
END
$$;

-- A staged import (p has import_id): without commit, the rows are kept (app.import_batches) and the answer says
-- how many the import holds, {"import_id", "staged"}; with commit, the answer is p with every staged row of the
-- import before its own rows, atomic, the stage emptied: one transaction writes the whole file. The
-- commit consumes the stage whatever its outcome (a dry run or a failed atomic import is re-run from the file). A stage is one
-- user's and one method's (the call's, from app.begin_call); at most app.import_stage_limit() rows.
CREATE OR REPLACE FUNCTION app.import_stage_limit() RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$ SELECT 200000 $$;

CREATE OR REPLACE FUNCTION app.import_staged(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_import uuid := (p ->> 'import_id')::uuid;
    v_method text := coalesce(nullif(current_setting('app.method', true), ''), 'sql');  -- the *.import method
    v_staged integer;
    v_rows jsonb;
BEGIN
    IF v_import IS NULL THEN
        RETURN p;
    END IF;
    IF EXISTS (SELECT FROM app.import_batches b WHERE b.import_id = v_import AND b.method <> v_method) THEN
        PERFORM api.invalid_param('import_id', 'is an import of another kind');
    END IF;
    SELECT coalesce(sum(jsonb_array_length(b.rows)), 0) INTO v_staged FROM app.import_batches b WHERE b.import_id = v_import;
    IF v_staged + jsonb_array_length(p -> 'rows') > app.import_stage_limit() THEN
        PERFORM api.invalid_param('rows', format('an import holds at most %s rows', app.import_stage_limit()));
    END IF;
    IF NOT coalesce((p ->> 'commit')::boolean, false) THEN
        DELETE FROM app.import_batches b WHERE b.staged_at < now() - interval '1 day';
        INSERT INTO app.import_batches (organisation_id, import_id, method, staged_by, rows)
        VALUES (app.current_organisation_id(), v_import, v_method, app.current_user_id(), p -> 'rows');
        RETURN jsonb_build_object('import_id', v_import, 'staged', v_staged + jsonb_array_length(p -> 'rows'));
    END IF;
    SELECT coalesce(jsonb_agg(r ORDER BY b.staged_at, b.batch, n), '[]') INTO v_rows
    FROM app.import_batches b, jsonb_array_elements(b.rows) WITH ORDINALITY AS x(r, n) WHERE b.import_id = v_import;
    DELETE FROM app.import_batches b WHERE b.import_id = v_import;
    RETURN p || jsonb_build_object('rows', v_rows || (p -> 'rows'), 'atomic', true);
END
$$;

-- A kind's import: staged (app.import_staged), or written row by row (app.import_rows).
CREATE OR REPLACE FUNCTION app.import(p jsonb, p_create regproc, p_existing text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_all jsonb := app.import_staged(p);
BEGIN
    IF v_all ? 'staged' THEN
        RETURN v_all;
    END IF;
    RETURN app.import_rows(v_all, p_create, p_existing);
END
$$;

-- The reports of an entry that was written or skipped: one per file row it covers.
CREATE OR REPLACE FUNCTION app.import_outcome(p_entry jsonb, p_status text, p_id uuid) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('row', r, 'status', p_status, 'id', p_id)) ORDER BY n)
    FROM jsonb_array_elements(coalesce(p_entry -> 'covers', jsonb_build_array(p_entry -> 'row'))) WITH ORDINALITY AS c(r, n)
$$;

-- The reports of an entry that failed. The row at fault is the one its error's path points at (finance[2].plan:
-- the row of finance[2], column plan), else the entry's first; its field is named as the file names it (the
-- entry's renames); the entry's other rows say which row sank them.
CREATE OR REPLACE FUNCTION app.import_failure(p_entry jsonb, p_path text, p_reason text, p_message text) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    WITH fault AS (
        SELECT coalesce(p_entry -> 'at' -> split_part(p_path, '.', 1), p_entry -> 'row') AS row,
               CASE WHEN NOT coalesce(p_entry -> 'at' ? split_part(p_path, '.', 1), false) THEN p_path
                    WHEN strpos(p_path, '.') > 0 THEN substr(p_path, strpos(p_path, '.') + 1) END AS param),
    named AS (SELECT row, coalesce(p_entry -> 'renames' ->> param, param) AS field FROM fault)
    SELECT jsonb_agg(CASE WHEN r = named.row
                          THEN jsonb_strip_nulls(jsonb_build_object('row', r, 'status', 'failed', 'field', named.field,
                                                                    'reason', p_reason, 'message', p_message))
                          ELSE jsonb_build_object('row', r, 'status', 'failed', 'reason', 'refused_with_its_group',
                                                  'message', format('%s not written: row %s failed', p_entry ->> 'label', named.row))
                     END ORDER BY n)
    FROM named, jsonb_array_elements(coalesce(p_entry -> 'covers', jsonb_build_array(p_entry -> 'row'))) WITH ORDINALITY AS c(r, n)
$$;
REVOKE ALL ON FUNCTION app.import_rows(jsonb, regproc, text), app.import_outcome(jsonb, text, uuid), app.import(jsonb, regproc, text),
    app.import_staged(jsonb), app.import_stage_limit(),
    app.import_failure(jsonb, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.import_rows(jsonb, regproc, text), app.import_outcome(jsonb, text, uuid), app.import(jsonb, regproc, text),
    app.import_staged(jsonb), app.import_stage_limit(),
    app.import_failure(jsonb, text, text, text) TO engagement_app;

-- A reference of an import row that found nothing fails the row at its column.
CREATE OR REPLACE FUNCTION app.import_found(p_found uuid, p_column text, p_message text) RETURNS uuid
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_found IS NULL THEN
        PERFORM api.invalid_param(p_column, p_message);
    END IF;
    RETURN p_found;
END
$$;

CREATE OR REPLACE FUNCTION app.import_party(p_ref text, p_column text) RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT app.import_found((SELECT id FROM app.parties WHERE external_ref = p_ref), p_column, 'no party has this external_ref')
$$;

CREATE OR REPLACE FUNCTION app.import_service(p_code text) RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT app.import_found((SELECT id FROM app.services WHERE lower(code) = lower(p_code)), 'service_code', 'no service has this code')
$$;

CREATE OR REPLACE FUNCTION app.import_contract(p_reference text) RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT app.import_found((SELECT id FROM app.contracts WHERE lower(reference) = lower(p_reference)),
                            'contract_reference', 'no contract has this reference')
$$;

CREATE OR REPLACE FUNCTION app.import_engagement(p_code text, p_column text) RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT app.import_found((SELECT id FROM app.engagements WHERE lower(code) = lower(p_code)), p_column,
                            'no engagement has this code')
$$;

-- The lifecycle steps from draft to an imported status (every one a transition a user could make).
CREATE OR REPLACE FUNCTION app.import_status_path(p_status text) RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE p_status WHEN 'active' THEN ARRAY['active'] WHEN 'on_hold' THEN ARRAY['active', 'on_hold']
                         WHEN 'completed' THEN ARRAY['active', 'completed']
                         WHEN 'archived' THEN ARRAY['active', 'completed', 'archived'] ELSE ARRAY[]::text[] END
$$;

REVOKE ALL ON FUNCTION app.import_found(uuid, text, text), app.import_party(text, text), app.import_service(text), app.import_contract(text),
    app.import_engagement(text, text), app.import_status_path(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.import_found(uuid, text, text), app.import_party(text, text), app.import_service(text), app.import_contract(text),
    app.import_engagement(text, text), app.import_status_path(text) TO engagement_app;
