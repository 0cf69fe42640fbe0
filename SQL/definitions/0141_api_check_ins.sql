-- checkin.*: one engagement's finance lines, KPI values and capacity hours for one month. What is accepted
-- (active engagements; after completion the final check-in, once; months within the engagement's dates; items
-- valid for the engagement) and every revision are the database's rules (0016, 0017), which psql obeys too.

CREATE OR REPLACE FUNCTION api.check_in_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"check_ins_engagement_fk": "engagement_id", "check_ins_month_unique": "period"}'::jsonb
$$;

-- The content sections of a call's params, as app.write_check_in takes them (a section left out stays out).
CREATE OR REPLACE FUNCTION api.check_in_content(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)
    FROM jsonb_each(p) WHERE key IN ('notes', 'finance', 'kpis', 'capacity')
$$;

-- Writes one submission (p: engagement_id, period, sections, replace, reason) and returns the check-in. The
-- reason is what the revision trigger records at commit: given, or "resubmitted" for a replacement.
CREATE OR REPLACE FUNCTION api.check_in_write(p jsonb) RETURNS app.check_ins
LANGUAGE plpgsql
AS $$
DECLARE
    replace_month boolean := coalesce((p ->> 'replace')::boolean, false);
    written app.check_ins;
BEGIN
    PERFORM set_config('app.change_reason',
        coalesce(p ->> 'reason', CASE WHEN replace_month THEN 'resubmitted' ELSE '' END), true);
    PERFORM app.write_check_in(gen_random_uuid(), (p ->> 'engagement_id')::uuid, to_date(p ->> 'period', 'YYYY-MM'),
                               NULL, api.check_in_content(p), replace_month);
    -- By month rather than id: a resubmission keeps the check-in's id.
    SELECT * INTO written FROM app.check_ins
    WHERE engagement_id = (p ->> 'engagement_id')::uuid AND period = to_date(p ->> 'period', 'YYYY-MM');
    RETURN written;
END
$$;

CREATE OR REPLACE FUNCTION api.checkin_submit(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('checkin.submit', p);
    written app.check_ins;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    -- Rendered in a statement of its own: a stable function sees the snapshot its statement started with.
    written := api.check_in_write(p);
    RETURN api.remember('checkin.submit', p, app.check_in_json(written));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.check_in_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.check_in_paths());
END
$$;

-- The sections given replace the old ones; the previous content stays in the history.
CREATE OR REPLACE FUNCTION api.checkin_amend(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    outcome record;
    item app.check_ins;
BEGIN
    PERFORM set_config('app.change_reason', coalesce(p ->> 'reason', ''), true);
    SELECT * INTO outcome
    FROM app.write_check_in((p ->> 'id')::uuid, NULL, NULL, (p ->> 'version')::integer, api.check_in_content(p), false);
    IF NOT outcome.written THEN
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, outcome.current_version);
    END IF;
    SELECT * INTO item FROM app.check_ins WHERE id = (p ->> 'id')::uuid;
    RETURN app.check_in_json(item);
END
$$;

CREATE OR REPLACE FUNCTION api.checkin_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.check_ins;
BEGIN
    SELECT * INTO item FROM app.check_ins WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.check_in_json(item);
END
$$;

-- Sorted by month (default) or submission time.
CREATE OR REPLACE FUNCTION api.checkin_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.check_ins', 'app.check_in_json',
        $filter$
            ($1 ->> 'engagement_id' IS NULL OR row.engagement_id = ($1 ->> 'engagement_id')::uuid)
        AND ($1 ->> 'from' IS NULL OR row.period >= to_date($1 ->> 'from', 'YYYY-MM'))
        AND ($1 ->> 'to' IS NULL OR row.period <= to_date($1 ->> 'to', 'YYYY-MM'))
        AND ($1 ->> 'is_final' IS NULL OR row.is_final = ($1 ->> 'is_final')::boolean)
        $filter$,
        '{"period": ["period", "date"], "created_at": ["created_at", "timestamptz"]}', 'period');
END
$$;

-- Every revision, oldest first.
CREATE OR REPLACE FUNCTION api.checkin_history(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.check_ins;
BEGIN
    SELECT * INTO item FROM app.check_ins WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'revision', r.revision, 'written_by', r.written_by, 'written_at', r.written_at, 'method', r.method,
                   'reason', r.reason, 'content', r.content, 'changes', r.changes) ORDER BY r.revision)
        FROM app.check_in_revisions r
        WHERE r.organisation_id = item.organisation_id AND r.check_in_id = item.id), '[]'::jsonb);
END
$$;

-- Many check-ins: the items of one engagement are all-or-nothing (a subtransaction each, with the check-in
-- triggers that normally wait for the commit fired at its end, so their errors stay inside it); engagements are
-- independent. Each result is written {id, version}, failed {database_error: {sqlstate, message, column, hint}}
-- (column: the param's path within the item), or rolled_back {caused_by: the failed item's index}. The server
-- turns database_error into the JSON-RPC error, with its paths under params.items[i], as for one call.
CREATE OR REPLACE FUNCTION api.checkin_submit_many(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    items jsonb := p -> 'items';
    results jsonb := '{}';
    engagement record;
    idx integer;
    failed_at integer;
    written app.check_ins;
    failure jsonb;
    state text;
    failed_constraint text;
    failed_column text;
    message text;
    hint text;
BEGIN
    FOR engagement IN
        SELECT array_agg((n - 1)::integer ORDER BY n) AS positions
        FROM jsonb_array_elements(items) WITH ORDINALITY AS i(item, n)
        GROUP BY lower(item ->> 'engagement_id') ORDER BY min(n)
    LOOP
        BEGIN
            FOREACH idx IN ARRAY engagement.positions LOOP
                failed_at := idx;
                written := api.check_in_write(items -> idx);
                results := results || jsonb_build_object(idx::text, jsonb_build_object(
                    'status', 'written', 'id', written.id, 'version', written.version));
            END LOOP;
            failed_at := NULL;
            -- The deferred check-in triggers (revisions, scores, rules) of this engagement, now, inside the block.
            SET CONSTRAINTS app.check_ins_after_write, app.check_ins_score IMMEDIATE;
            SET CONSTRAINTS app.check_ins_after_write, app.check_ins_score DEFERRED;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME,
                failed_column = COLUMN_NAME, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
            failure := jsonb_build_object('sqlstate', state, 'message', message,
                'column', coalesce(api.check_in_paths() ->> failed_constraint, nullif(failed_column, '')),
                'hint', nullif(hint, ''));
            FOREACH idx IN ARRAY engagement.positions LOOP
                results := results || jsonb_build_object(idx::text, CASE
                    WHEN failed_at IS NOT NULL AND idx <> failed_at
                        THEN jsonb_build_object('status', 'rolled_back', 'caused_by', failed_at)
                    ELSE jsonb_build_object('status', 'failed', 'database_error', failure) END);
            END LOOP;
        END;
    END LOOP;
    RETURN jsonb_build_object('results', coalesce((
        SELECT jsonb_agg(jsonb_build_object('index', n - 1, 'engagement_id', item -> 'engagement_id',
                                            'period', item -> 'period') || (results -> (n - 1)::text) ORDER BY n)
        FROM jsonb_array_elements(items) WITH ORDINALITY AS i(item, n)), '[]'::jsonb));
END
$$;

REVOKE ALL ON FUNCTION api.check_in_paths(), api.check_in_content(jsonb), api.check_in_write(jsonb),
    api.checkin_submit(jsonb), api.checkin_amend(jsonb), api.checkin_get(jsonb), api.checkin_list(jsonb),
    api.checkin_history(jsonb), api.checkin_submit_many(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.check_in_paths(), api.check_in_content(jsonb), api.check_in_write(jsonb),
    api.checkin_submit(jsonb), api.checkin_amend(jsonb), api.checkin_get(jsonb), api.checkin_list(jsonb),
    api.checkin_history(jsonb), api.checkin_submit_many(jsonb) TO engagement_app;
