-- Bulk import (the `*.import` methods, `engagementctl import`): rows go through the very api function a single
-- create uses, so they obey its rules, audit and errors. Each row runs in a subtransaction: a row that fails is
-- reported with its field and reason and the others go on; a row whose natural key is already there (its
-- external reference) is skipped, so an import can be re-run. With dry_run, or with atomic when any row failed,
-- every write is rolled back and the report stays: rows that would have been written say `valid` (dry run) or
-- `not_written` (atomic).
--   p: {"rows": [{"row": <line number>, "values": {<create params>}}], "dry_run": bool, "atomic": bool}
--   p_create: the api create function; p_existing: a query returning the id of the row's existing twin ($1 = values)
-- Only the api functions' own errors (SQLSTATE classes EV, EC, ES, EN: written for clients) become row failures;
-- anything else fails the whole call, as it would a single create.
CREATE OR REPLACE FUNCTION app.import_rows(p jsonb, p_create regproc, p_existing text) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_values jsonb;
    v_row integer;
    v_existing uuid;
    v_created jsonb;
    v_state text;
    v_message text;
    v_column text;
    v_hint text;
    v_report jsonb := '[]'::jsonb;
    v_written integer := 0;
    v_failed integer := 0;
    v_skipped integer := 0;
    v_dry boolean := coalesce((p ->> 'dry_run')::boolean, false);
    v_atomic boolean := coalesce((p ->> 'atomic')::boolean, false);
    v_undone boolean := false;
BEGIN
    BEGIN
        FOR v_values, v_row IN
            SELECT r.value -> 'values', (r.value ->> 'row')::integer FROM jsonb_array_elements(p -> 'rows') AS r
        LOOP
            v_existing := NULL;
            EXECUTE p_existing INTO v_existing USING v_values;
            IF v_existing IS NOT NULL THEN
                v_skipped := v_skipped + 1;
                v_report := v_report || jsonb_build_object('row', v_row, 'status', 'skipped', 'id', v_existing);
                CONTINUE;
            END IF;
            BEGIN
                EXECUTE format('SELECT %s($1)', p_create) INTO v_created USING v_values;
                v_written := v_written + 1;
                v_report := v_report || jsonb_build_object('row', v_row, 'status', 'written', 'id', v_created -> 'id');
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_column = COLUMN_NAME,
                    v_hint = PG_EXCEPTION_HINT;
                IF left(v_state, 2) NOT IN ('EV', 'EC', 'ES', 'EN') THEN
                    RAISE;
                END IF;
                v_failed := v_failed + 1;
                v_report := v_report || jsonb_strip_nulls(jsonb_build_object(
                    'row', v_row, 'status', 'failed', 'field', nullif(v_column, ''),
                    'reason', coalesce(nullif(v_hint, ''), CASE left(v_state, 2) WHEN 'EV' THEN 'invalid' WHEN 'EN' THEN 'not_found'
                                                                 ELSE 'refused' END),
                    'message', v_message));
            END;
        END LOOP;
        IF v_dry OR (v_atomic AND v_failed > 0) THEN
            v_undone := true;
            RAISE EXCEPTION 'undo the import' USING ERRCODE = 'EX000';
        END IF;
    EXCEPTION WHEN SQLSTATE 'EX000' THEN
        NULL;  -- every write of the block is rolled back; the report (a variable) stays
    END;
    IF v_undone THEN
        SELECT coalesce(jsonb_agg(
                   CASE WHEN e ->> 'status' = 'written'
                        THEN (e - 'id') || jsonb_build_object('status', CASE WHEN v_dry THEN 'valid' ELSE 'not_written' END)
                        ELSE e END ORDER BY n), '[]'::jsonb)
        INTO v_report FROM jsonb_array_elements(v_report) WITH ORDINALITY AS x(e, n);
        v_written := 0;
    END IF;
    RETURN jsonb_build_object('rows', v_report, 'written', v_written, 'skipped', v_skipped, 'failed', v_failed, 'dry_run', v_dry);
END
$$;
REVOKE ALL ON FUNCTION app.import_rows(jsonb, regproc, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.import_rows(jsonb, regproc, text) TO engagement_app;

-- party.import: parties by name, kind and external reference; a party whose external_ref exists is skipped.
CREATE OR REPLACE FUNCTION api.party_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import_rows(p, 'api.party_create'::regproc,
        'SELECT id FROM app.parties WHERE external_ref = $1 ->> ''external_ref''');
END
$$;
REVOKE ALL ON FUNCTION api.party_import(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.party_import(jsonb) TO engagement_app;

-- service.import: services by code (case-insensitive, as their unique index); a service whose code exists is skipped.
CREATE OR REPLACE FUNCTION api.service_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import_rows(p, 'api.service_create'::regproc,
        'SELECT id FROM app.services WHERE lower(code) = lower($1 ->> ''code'')');
END
$$;
REVOKE ALL ON FUNCTION api.service_import(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.service_import(jsonb) TO engagement_app;

-- One engagement row of a spreadsheet: what it names by code or reference becomes ids (service by code, customer
-- by the party's external_ref, contract by its reference, parent by its code: earlier in the file or already
-- there), then api.engagement_create and, with a parent, api.engagement_set_parent: the rules of single calls.
-- A reference that finds nothing fails the row at that column.
CREATE OR REPLACE FUNCTION app.engagement_import_row(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_params jsonb := p - 'service_code' - 'customer_ref' - 'contract_reference' - 'parent_code';
    v_id uuid;
    v_created jsonb;
    v_parent uuid;
BEGIN
    SELECT id INTO v_id FROM app.services WHERE lower(code) = lower(p ->> 'service_code');
    IF v_id IS NULL THEN
        PERFORM api.invalid_param('service_code', 'no service has this code');
    END IF;
    v_params := v_params || jsonb_build_object('service_id', v_id);
    SELECT id INTO v_id FROM app.parties WHERE external_ref = p ->> 'customer_ref';
    IF v_id IS NULL THEN
        PERFORM api.invalid_param('customer_ref', 'no party has this external_ref');
    END IF;
    v_params := v_params || jsonb_build_object('customer_party_id', v_id);
    IF p ? 'contract_reference' THEN
        SELECT id INTO v_id FROM app.contracts WHERE lower(reference) = lower(p ->> 'contract_reference');
        IF v_id IS NULL THEN
            PERFORM api.invalid_param('contract_reference', 'no contract has this reference');
        END IF;
        v_params := v_params || jsonb_build_object('contract_id', v_id);
    END IF;
    IF p ? 'parent_code' THEN
        SELECT id INTO v_parent FROM app.engagements WHERE lower(code) = lower(p ->> 'parent_code');
        IF v_parent IS NULL THEN
            PERFORM api.invalid_param('parent_code', 'no engagement has this code (a parent comes before its children)');
        END IF;
    END IF;
    v_created := api.engagement_create(v_params);
    IF v_parent IS NOT NULL THEN
        BEGIN
            v_created := api.engagement_set_parent(jsonb_build_object(
                'id', v_created -> 'id', 'version', v_created -> 'version', 'parent_id', v_parent));
        EXCEPTION WHEN SQLSTATE 'EV400' THEN
            PERFORM api.invalid_param('parent_code', 'cannot be this engagement''s parent (a cycle, or too deep)');
        END;
    END IF;
    RETURN v_created;
END
$$;
REVOKE ALL ON FUNCTION app.engagement_import_row(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.engagement_import_row(jsonb) TO engagement_app;

-- engagement.import: engagements by code; one whose code exists is skipped.
CREATE OR REPLACE FUNCTION api.engagement_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import_rows(p, 'app.engagement_import_row'::regproc,
        'SELECT id FROM app.engagements WHERE lower(code) = lower($1 ->> ''code'')');
END
$$;
REVOKE ALL ON FUNCTION api.engagement_import(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.engagement_import(jsonb) TO engagement_app;

-- One KPI row: the engagement by code, the delivery party by external_ref, then api.kpi_define.
CREATE OR REPLACE FUNCTION app.kpi_import_row(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_params jsonb := p - 'engagement_code' - 'deliverer_ref';
    v_id uuid;
BEGIN
    SELECT id INTO v_id FROM app.engagements WHERE lower(code) = lower(p ->> 'engagement_code');
    IF v_id IS NULL THEN
        PERFORM api.invalid_param('engagement_code', 'no engagement has this code');
    END IF;
    v_params := v_params || jsonb_build_object('engagement_id', v_id);
    IF p ? 'deliverer_ref' THEN
        SELECT id INTO v_id FROM app.parties WHERE external_ref = p ->> 'deliverer_ref';
        IF v_id IS NULL THEN
            PERFORM api.invalid_param('deliverer_ref', 'no party has this external_ref');
        END IF;
        v_params := v_params || jsonb_build_object('deliverer_party_id', v_id);
    END IF;
    RETURN api.kpi_define(v_params);
END
$$;
REVOKE ALL ON FUNCTION app.kpi_import_row(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.kpi_import_row(jsonb) TO engagement_app;

-- kpi.import: KPIs by engagement and name; one the engagement already has (by name) is skipped, not redefined.
CREATE OR REPLACE FUNCTION api.kpi_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import_rows(p, 'app.kpi_import_row'::regproc,
        'SELECT k.id FROM app.engagement_kpis k JOIN app.engagements e ON e.organisation_id = k.organisation_id AND e.id = k.engagement_id
         WHERE lower(e.code) = lower($1 ->> ''engagement_code'') AND lower(k.name) = lower($1 ->> ''name'')');
END
$$;
REVOKE ALL ON FUNCTION api.kpi_import(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.kpi_import(jsonb) TO engagement_app;
