-- The `*.import` method of each kind (docs/spreadsheets.md): what a row names by code or reference becomes ids
-- (app.import_* helpers, 0500_imports.sql), then the kind's own create function writes it through
-- app.import (staging) and app.import_rows (a subtransaction and a report per row). Each function gives the
-- query that finds a row's existing twin, which makes an import re-runnable.

-- party.import: parties by name, kind and external reference; a party whose external_ref exists is skipped.
CREATE OR REPLACE FUNCTION api.party_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'api.party_create'::regproc,
        'SELECT id FROM app.parties WHERE external_ref = $1 ->> ''external_ref''');
END
$$;

-- service.import: services by code (case-insensitive, as their unique index); a service whose code exists is skipped.
CREATE OR REPLACE FUNCTION api.service_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'api.service_create'::regproc,
        'SELECT id FROM app.services WHERE lower(code) = lower($1 ->> ''code'')');
END
$$;

-- template.import: templates naming the service by code; one whose service has a template of that name is skipped.
CREATE OR REPLACE FUNCTION app.template_import_row(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT api.template_create(p - 'service_code' || jsonb_build_object('service_id', app.import_service(p ->> 'service_code')))
$$;

CREATE OR REPLACE FUNCTION api.template_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'app.template_import_row'::regproc,
        'SELECT t.id FROM app.engagement_templates t JOIN app.services s ON s.organisation_id = t.organisation_id AND s.id = t.service_id
         WHERE lower(s.code) = lower($1 ->> ''service_code'') AND lower(t.name) = lower(btrim($1 ->> ''name''))');
END
$$;

-- One engagement row of a spreadsheet: what it names by code or reference becomes ids (service by code, customer
-- by the party's external_ref, contract by its reference, template by its name among the service's, parent by
-- its code: earlier in the file or already there), then api.engagement_create, with a parent
-- api.engagement_set_parent, and with a status other than draft the lifecycle's transitions to it (reason
-- "imported"): the rules of single calls.
CREATE OR REPLACE FUNCTION app.engagement_import_row(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_params jsonb := p - 'service_code' - 'customer_ref' - 'contract_reference' - 'parent_code' - 'template' - 'status';
    v_service uuid := app.import_service(p ->> 'service_code');
    v_created jsonb;
    v_parent uuid;
    v_templates uuid[];
    v_status text;
BEGIN
    v_params := v_params || jsonb_build_object('service_id', v_service,
                                               'customer_party_id', app.import_party(p ->> 'customer_ref', 'customer_ref'));
    IF p ? 'contract_reference' THEN
        v_params := v_params || jsonb_build_object('contract_id', app.import_contract(p ->> 'contract_reference'));
    END IF;
    IF p ? 'template' THEN
        SELECT array_agg(id) INTO v_templates FROM app.engagement_templates
        WHERE service_id = v_service AND lower(name) = lower(p ->> 'template') AND archived_at IS NULL;
        IF cardinality(v_templates) IS DISTINCT FROM 1 THEN
            PERFORM api.invalid_param('template', CASE WHEN v_templates IS NULL THEN 'the service has no template of this name'
                                                       ELSE 'the service has several templates of this name' END);
        END IF;
        v_params := v_params || jsonb_build_object('template_id', v_templates[1]);
    END IF;
    IF p ? 'parent_code' THEN
        v_parent := app.import_found((SELECT id FROM app.engagements WHERE lower(code) = lower(p ->> 'parent_code')),
                                     'parent_code', 'no engagement has this code (a parent comes before its children)');
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
    FOREACH v_status IN ARRAY app.import_status_path(p ->> 'status') LOOP
        BEGIN
            v_created := api.engagement_transition(jsonb_build_object(
                'id', v_created -> 'id', 'version', v_created -> 'version', 'to', v_status, 'reason', 'imported'));
        EXCEPTION WHEN SQLSTATE 'ES002' THEN
            PERFORM api.invalid_param('status', 'an active engagement needs a template: name one in the template column');
        END;
    END LOOP;
    RETURN v_created;
END
$$;

-- engagement.import: engagements by code; one whose code exists is skipped.
CREATE OR REPLACE FUNCTION api.engagement_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'app.engagement_import_row'::regproc,
        'SELECT id FROM app.engagements WHERE lower(code) = lower($1 ->> ''code'')');
END
$$;

-- One KPI row: the engagement by code, the delivery party by external_ref, then api.kpi_define.
CREATE OR REPLACE FUNCTION app.kpi_import_row(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_params jsonb := p - 'engagement_code' - 'deliverer_ref'
        || jsonb_build_object('engagement_id', app.import_engagement(p ->> 'engagement_code', 'engagement_code'));
BEGIN
    IF p ? 'deliverer_ref' THEN
        v_params := v_params || jsonb_build_object('deliverer_party_id', app.import_party(p ->> 'deliverer_ref', 'deliverer_ref'));
    END IF;
    RETURN api.kpi_define(v_params);
END
$$;

-- kpi.import: KPIs by engagement and name; one the engagement already has (by name) is skipped, not redefined.
CREATE OR REPLACE FUNCTION api.kpi_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'app.kpi_import_row'::regproc,
        'SELECT k.id FROM app.engagement_kpis k JOIN app.engagements e ON e.organisation_id = k.organisation_id AND e.id = k.engagement_id
         WHERE lower(e.code) = lower($1 ->> ''engagement_code'') AND lower(k.name) = lower($1 ->> ''name'')');
END
$$;

-- contract.import: contracts naming the customer by its party's external_ref; one whose reference exists is skipped.
CREATE OR REPLACE FUNCTION app.contract_import_row(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT api.contract_create(p - 'customer_ref'
        || jsonb_build_object('customer_party_id', app.import_party(p ->> 'customer_ref', 'customer_ref')))
$$;

CREATE OR REPLACE FUNCTION api.contract_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'app.contract_import_row'::regproc,
        'SELECT id FROM app.contracts WHERE lower(reference) = lower($1 ->> ''reference'')');
END
$$;

-- contract.import_rates: rate overrides, one row per contract and rate-card line; a line the contract already has
-- is skipped (not overwritten: contract.set_rate changes a rate). The report's id is the contract's.
CREATE OR REPLACE FUNCTION app.contract_rate_import_row(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT api.contract_set_rate(p - 'contract_reference'
        || jsonb_build_object('id', app.import_contract(p ->> 'contract_reference')))
$$;

CREATE OR REPLACE FUNCTION api.contract_import_rates(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'app.contract_rate_import_row'::regproc,
        'SELECT c.id FROM app.contract_rates r JOIN app.contracts c ON c.organisation_id = r.organisation_id AND c.id = r.contract_id
         WHERE lower(c.reference) = lower($1 ->> ''contract_reference'') AND r.rate_key = btrim($1 ->> ''rate_key'')');
END
$$;

-- contract.import_sla_terms: SLA terms, one row per term (the penalty as the JSON object contract.add_sla_term
-- takes); a term whose contract has one for the same metric and measurement period is skipped.
CREATE OR REPLACE FUNCTION app.sla_term_import_row(p jsonb) RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT api.contract_add_sla_term(p - 'contract_reference'
        || jsonb_build_object('id', app.import_contract(p ->> 'contract_reference')))
$$;

CREATE OR REPLACE FUNCTION api.contract_import_sla_terms(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN app.import(p, 'app.sla_term_import_row'::regproc,
        'SELECT c.id FROM app.contract_sla_terms t JOIN app.contracts c ON c.organisation_id = t.organisation_id AND c.id = t.contract_id
         WHERE lower(c.reference) = lower($1 ->> ''contract_reference'') AND lower(t.metric) = lower(btrim($1 ->> ''metric''))
           AND t.measurement_period = $1 ->> ''measurement_period''');
END
$$;

-- checkin.import: monthly check-ins from a spreadsheet of lines, one row per finance line, KPI value or capacity
-- entry (`section`: finance, kpi, capacity; notes for a row with notes only), naming the engagement by code and a
-- line's delivery party by external_ref. The rows of one engagement and month make one check-in, written by
-- app.checkin_import_row through the check-in write path; a row's error is reported at that row (the path
-- finance[2].plan is the third finance row's, column plan), and the check-in's other rows say which row sank
-- them. A month the engagement already has a check-in for is skipped: amend it with checkin.amend. All rows of
-- a check-in must come in the same call (engagementctl sends them so).
CREATE OR REPLACE FUNCTION api.checkin_import(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_entries jsonb;
BEGIN
    p := app.import_staged(p);
    IF p ? 'staged' THEN
        RETURN p;
    END IF;
    WITH line AS (
        SELECT r.value AS item, n, r.value -> 'values' AS v,
               lower(coalesce(r.value #>> '{values,engagement_code}', '')) AS code,
               coalesce(r.value #>> '{values,period}', '') AS period,
               CASE r.value #>> '{values,section}' WHEN 'kpi' THEN 'kpis' ELSE r.value #>> '{values,section}' END AS section
        FROM jsonb_array_elements(p -> 'rows') WITH ORDINALITY AS r(value, n)
    ), placed AS (
        SELECT *, format('%s[%s]', section, row_number() OVER (PARTITION BY code, period, section ORDER BY n) - 1) AS path
        FROM line
    ), grouped AS (
        SELECT min(n) AS first,
               jsonb_build_object('engagement_code', min(v ->> 'engagement_code'), 'period', min(v ->> 'period'))
               || jsonb_strip_nulls(jsonb_build_object('notes', string_agg(v ->> 'notes', E'\n\n' ORDER BY n)))
               || jsonb_build_object(
                   'finance', coalesce(jsonb_agg(app.checkin_import_line(v) ORDER BY n) FILTER (WHERE section = 'finance'), '[]'),
                   'kpis', coalesce(jsonb_agg(app.checkin_import_line(v) ORDER BY n) FILTER (WHERE section = 'kpis'), '[]'),
                   'capacity', coalesce(jsonb_agg(app.checkin_import_line(v) ORDER BY n) FILTER (WHERE section = 'capacity'), '[]'))
                   AS values,
               jsonb_agg(item -> 'row' ORDER BY n) AS covers,
               jsonb_object_agg(path, item -> 'row') FILTER (WHERE section IN ('finance', 'kpis', 'capacity')) AS at,
               (array_agg(jsonb_build_object('row', item -> 'row') || (item -> 'refused') ORDER BY n)
                   FILTER (WHERE item ? 'refused'))[1] AS refused,
               format('the check-in of %s for %s', min(v ->> 'engagement_code'), min(v ->> 'period')) AS label
        FROM placed GROUP BY code, period
    )
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'row', coalesce(refused -> 'row', covers -> 0), 'values', values, 'covers', covers, 'at', at,
               'label', label, 'refused', refused - 'row',
               'renames', '{"engagement_id": "engagement_code", "deliverer_party_id": "deliverer_ref"}'::jsonb)) ORDER BY first), '[]')
    INTO v_entries FROM grouped;
    RETURN app.import_rows(p || jsonb_build_object('rows', v_entries), 'app.checkin_import_row'::regproc,
        'SELECT c.id FROM app.check_ins c JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
         WHERE lower(e.code) = lower($1 ->> ''engagement_code'') AND c.period = to_date($1 ->> ''period'', ''YYYY-MM'')');
END
$$;

-- A line of a check-in as its row gave it: the columns that are the line's (engagement_code, period, section and
-- notes belong to the check-in).
CREATE OR REPLACE FUNCTION app.checkin_import_line(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT p - 'engagement_code' - 'period' - 'section' - 'notes'
$$;

-- One check-in from its rows: the engagement by code, each line's columns checked against its section, its
-- delivery party by external_ref, then the check-in write path, its deferred checks run here so that their
-- errors stay this check-in's. The entry's renames report the write path's params as the spreadsheet's columns.
CREATE OR REPLACE FUNCTION app.checkin_import_row(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_engagement uuid := app.import_engagement(p ->> 'engagement_code', 'engagement_code');
    v_columns constant jsonb := '{"finance": ["category", "label", "plan", "actual", "currency", "deliverer_ref"],
                                  "kpis": ["kpi", "actual", "deliverer_ref"],
                                  "capacity": ["role", "person", "planned_hours", "actual_hours", "deliverer_ref"]}';
    v_section text;
    v_lines jsonb;
    v_line jsonb;
    v_key text;
    v_params jsonb := jsonb_build_object('engagement_id', v_engagement, 'period', p ->> 'period')
                      || jsonb_strip_nulls(jsonb_build_object('notes', p ->> 'notes'));
    v_written app.check_ins;
BEGIN
    FOR v_section IN SELECT jsonb_object_keys(v_columns) LOOP
        v_lines := '[]';
        FOR i IN 0 .. jsonb_array_length(p -> v_section) - 1 LOOP
            v_line := p -> v_section -> i;
            FOR v_key IN SELECT jsonb_object_keys(v_line) LOOP
                IF NOT v_columns -> v_section ? v_key THEN
                    PERFORM api.invalid_param(format('%s[%s].%s', v_section, i, v_key),
                        format('is not a column of a %s row (those are %s)', CASE v_section WHEN 'kpis' THEN 'kpi' ELSE v_section END,
                               (SELECT string_agg(c, ', ') FROM jsonb_array_elements_text(v_columns -> v_section) AS c)));
                END IF;
            END LOOP;
            IF v_line ? 'deliverer_ref' THEN
                v_line := v_line - 'deliverer_ref' || jsonb_build_object('deliverer_party_id',
                    app.import_party(v_line ->> 'deliverer_ref', format('%s[%s].deliverer_ref', v_section, i)));
            END IF;
            v_lines := v_lines || jsonb_build_array(v_line);
        END LOOP;
        IF jsonb_array_length(v_lines) > 0 THEN
            v_params := v_params || jsonb_build_object(v_section, v_lines);
        END IF;
    END LOOP;
    v_written := api.check_in_write(v_params);
    -- The deferred check-in triggers (revisions, scores, rules), now, inside the row's subtransaction
    -- (app.import_rows): their errors are this check-in's.
    SET CONSTRAINTS app.check_ins_after_write, app.check_ins_score IMMEDIATE;
    SET CONSTRAINTS app.check_ins_after_write, app.check_ins_score DEFERRED;
    RETURN jsonb_build_object('id', v_written.id);
END
$$;

REVOKE ALL ON FUNCTION app.engagement_import_row(jsonb), app.kpi_import_row(jsonb), app.contract_import_row(jsonb),
    app.contract_rate_import_row(jsonb), app.sla_term_import_row(jsonb), app.template_import_row(jsonb),
    app.checkin_import_line(jsonb), app.checkin_import_row(jsonb), api.party_import(jsonb), api.service_import(jsonb),
    api.engagement_import(jsonb), api.kpi_import(jsonb), api.contract_import(jsonb), api.contract_import_rates(jsonb),
    api.contract_import_sla_terms(jsonb), api.checkin_import(jsonb), api.template_import(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.engagement_import_row(jsonb), app.kpi_import_row(jsonb), app.contract_import_row(jsonb),
    app.contract_rate_import_row(jsonb), app.sla_term_import_row(jsonb), app.template_import_row(jsonb),
    app.checkin_import_line(jsonb), app.checkin_import_row(jsonb), api.party_import(jsonb), api.service_import(jsonb),
    api.engagement_import(jsonb), api.kpi_import(jsonb), api.contract_import(jsonb), api.contract_import_rates(jsonb),
    api.contract_import_sla_terms(jsonb), api.checkin_import(jsonb), api.template_import(jsonb) TO engagement_app;
