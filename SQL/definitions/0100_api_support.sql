-- What every api function shares: errors the server maps to JSON-RPC errors, idempotency, versioned writes and
-- keyset pages.
--
-- Conventions of an api function (docs/architecture.md has the whole picture):
-- * `api.<entity>_<verb>(p jsonb) RETURNS jsonb`: `p` is the call's params as the client sent them, already
--   checked against the method's declared schema by the server (types, required fields, ranges, enumerations);
--   the reply is the JSON-RPC result, passed through to the client as bytes.
-- * It owns the whole operation: idempotency, optimistic concurrency, integrity, rendering, and errors that name
--   the param path. Rules that psql writes must obey too stay in triggers and constraints, not here.
-- * Errors (SQLSTATE → JSON-RPC, see DatabaseErrorMapping in the server):
--     EV400…EV999, COLUMN = path under params   → -32602 invalid params at params.<path>
--     EN404                                     → -32003 not found
--     EC409, HINT = reason                      → -32004 conflict
--     EF403, HINT = reason                      → -32002 forbidden
--     ES…, HINT = reason (state rules)           → -32007 invalid state with that reason
--     a constraint's or trigger's error re-raised by api.reraise with COLUMN = the param's path:
--       23505 → conflict already_exists, 23503 → invalid params "does not exist", 23P01 → conflict overlaps,
--       23514 → invalid params, EV… → invalid params with the trigger's message
-- * PL/pgSQL (plans kept per session), INSERT … VALUES, no sub-selects in policies: the shape Citus accepts.

CREATE OR REPLACE FUNCTION api.not_found() RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'not found' USING ERRCODE = 'EN404';
END
$$;

-- A bad param the schema could not catch; p_path is relative to params (`items[2].plan`).
CREATE OR REPLACE FUNCTION api.invalid_param(p_path text, p_message text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '%', p_message USING ERRCODE = 'EV400', COLUMN = p_path;
END
$$;

CREATE OR REPLACE FUNCTION api.forbidden(p_reason text, p_message text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '%', p_message USING ERRCODE = 'EF403', HINT = p_reason;
END
$$;

CREATE OR REPLACE FUNCTION api.conflict(p_reason text, p_message text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '%', p_message USING ERRCODE = 'EC409', HINT = p_reason;
END
$$;

-- A versioned update or delete that matched no row: the row is gone (not found) or was changed since the
-- client read it (stale version; the message says the current one).
CREATE OR REPLACE FUNCTION api.refuse_versioned_write(p_requested integer, p_current integer) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_current IS NULL THEN
        PERFORM api.not_found();
    END IF;
    PERFORM api.conflict('stale_version',
        format('version %s is stale; the current version is %s', p_requested, p_current));
END
$$;

-- A versioned delete of the row `p.id` at `p.version` in `p_table` (a table with id and version), for the deletes
-- that need nothing else: the reply, or not found, or the stale version. A row other rows still refer to raises
-- the foreign key's error (-32004 in_use). Dynamic only in the table name, which the calling function names.
CREATE OR REPLACE FUNCTION api.versioned_delete(p jsonb, p_table regclass) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    deleted integer;
    current_version integer;
BEGIN
    EXECUTE format('DELETE FROM %s WHERE id = $1 AND version = $2', p_table)
        USING (p ->> 'id')::uuid, (p ->> 'version')::integer;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    IF deleted = 0 THEN
        EXECUTE format('SELECT version FROM %s WHERE id = $1', p_table) INTO current_version USING (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN jsonb_build_object('id', (p ->> 'id')::uuid, 'deleted', true);
END
$$;

-- Raises a constraint's or trigger's error again with the param that caused it: `p_paths` maps constraint
-- names to param paths ({"parties_external_ref_unique": "external_ref"}). Every api function that writes ends
-- with the same handler:
--     EXCEPTION WHEN OTHERS THEN
--         GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
--         IF NOT <paths> ? failed_constraint THEN RAISE; END IF;     -- anything else, unchanged
--         PERFORM api.reraise(state, failed_constraint, message, <paths>);
-- so an unmapped error keeps everything it had (a foreign key still referring to a deleted row: in use).
CREATE OR REPLACE FUNCTION api.reraise(p_state text, p_constraint text, p_message text, p_paths jsonb) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION '%', p_message
        USING ERRCODE = p_state, CONSTRAINT = coalesce(p_constraint, ''), COLUMN = coalesce(p_paths ->> p_constraint, '');
END
$$;

-- Idempotency: a write with `idempotency_key` stores its reply for a day; a retry with the same key and the
-- same params gets that reply again instead of writing; the same key with other params is refused (EI409).
-- The request is identified by the params without the key, as jsonb text (keys sorted, so the client's key
-- order does not matter).
CREATE OR REPLACE FUNCTION api.request_hash(p jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to((p - 'idempotency_key')::text, 'UTF8')), 'hex')
$$;

-- The stored reply of an earlier call with this key, or NULL.
CREATE OR REPLACE FUNCTION api.replay(p_method text, p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF NOT p ? 'idempotency_key' THEN
        RETURN NULL;
    END IF;
    RETURN app.idempotent_replay(p ->> 'idempotency_key', p_method, api.request_hash(p));
END
$$;

-- Stores the reply under the call's key (when it has one) and returns it.
CREATE OR REPLACE FUNCTION api.remember(p_method text, p jsonb, p_reply jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    IF p ? 'idempotency_key' THEN
        INSERT INTO app.idempotency_keys (organisation_id, key, method, request_hash, response)
        VALUES (app.current_organisation_id(), p ->> 'idempotency_key', p_method, api.request_hash(p), p_reply);
    END IF;
    RETURN p_reply;
END
$$;

-- Keyset pages. The cursor is base64url of {"sort", "order", "key", "id"} of the last row of the previous
-- page; a cursor that is malformed or was made for another sort or order is refused at params.cursor.
CREATE OR REPLACE FUNCTION api.page(p jsonb, p_default_sort text) RETURNS api.page
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    page api.page;
    cursor_text text := p ->> 'cursor';
    decoded jsonb;
BEGIN
    page.sort := coalesce(p ->> 'sort', p_default_sort);
    page.descending := coalesce(p ->> 'order', 'asc') = 'desc';
    page.page_size := coalesce((p ->> 'limit')::integer, 50);
    IF cursor_text IS NULL THEN
        RETURN page;
    END IF;
    BEGIN
        cursor_text := translate(cursor_text, '-_', '+/');
        cursor_text := cursor_text || repeat('=', (4 - length(cursor_text) % 4) % 4);
        decoded := convert_from(decode(cursor_text, 'base64'), 'UTF8')::jsonb;
        page.after_key := decoded ->> 'key';
        page.after_id := (decoded ->> 'id')::uuid;
    EXCEPTION WHEN OTHERS THEN
        decoded := NULL;
    END;
    IF decoded IS NULL OR jsonb_typeof(decoded) <> 'object' OR decoded ->> 'sort' IS DISTINCT FROM page.sort
       OR decoded ->> 'order' IS DISTINCT FROM (CASE WHEN page.descending THEN 'desc' ELSE 'asc' END)
       OR page.after_key IS NULL OR page.after_id IS NULL THEN
        PERFORM api.invalid_param('cursor', 'is not a cursor of this listing');
    END IF;
    RETURN page;
END
$$;

CREATE OR REPLACE FUNCTION api.cursor(p_page api.page, p_key text, p_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT translate(encode(convert_to(jsonb_build_object(
        'sort', p_page.sort, 'order', CASE WHEN p_page.descending THEN 'desc' ELSE 'asc' END,
        'key', p_key, 'id', p_id)::text, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;

-- A case-insensitive "contains" pattern for ILIKE in which % and _ of the text are literal.
CREATE OR REPLACE FUNCTION api.contains_pattern(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT '%' || replace(replace(replace(p_text, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;

-- One page of a table's rows in the caller's organisation, rendered by `p_render`, as
-- {"items": [...], "next_cursor": text or null}. `p_render` renders one row (`app.x_json(app.x)`), or the whole
-- page at once (`app.xs_json(app.x[])`, returning the array of items in order): set-based, with one join per
-- related table instead of a lookup per row and related table (the engagements' list, found by the list-page
-- benchmark).
-- * `p_filter`: a boolean SQL expression over `row` (the table's row) and `$1` (the params), written by the
--   calling api function, never by a client: `($1 ->> 'kind' IS NULL OR row.kind = $1 ->> 'kind')`.
-- * `p_sorts`: the sort keys the method offers, each with its column and that column's type:
--   {"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}.
-- The statement is planned with the params' values (EXECUTE … USING), so `$1 ->> 'kind' IS NULL` folds away
-- and the (organisation_id, <sort column>, id) index serves the page. The explicit organisation condition
-- bounds the scan before any non-leakproof operator (ILIKE) is applied; row-level security applies as well.
CREATE OR REPLACE FUNCTION api.list(p jsonb, p_table regclass, p_render regproc, p_filter text, p_sorts jsonb,
                                    p_default_sort text DEFAULT 'name')
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    page api.page := api.page(p, p_default_sort);
    sort_column text := p_sorts -> page.sort ->> 0;
    sort_type text := p_sorts -> page.sort ->> 1;
    direction text := CASE WHEN page.descending THEN 'DESC' ELSE 'ASC' END;
    renders_page boolean := (SELECT t.typcategory = 'A' FROM pg_catalog.pg_proc f
                             JOIN pg_catalog.pg_type t ON t.oid = f.proargtypes[0] WHERE f.oid = p_render);
    result jsonb;
BEGIN
    IF sort_column IS NULL THEN
        PERFORM api.invalid_param('sort', 'is not a sort key of this listing');
    END IF;
    EXECUTE format(
        $query$
        WITH page AS (
            SELECT item, row_number() OVER (ORDER BY (item).%1$I %2$s, (item).id %2$s) AS n
            FROM (
                SELECT row AS item FROM %3$s row
                WHERE row.organisation_id = app.current_organisation_id()
                  AND (%4$s)
                  AND ($2::text IS NULL OR (row.%1$I, row.id) %5$s ($2::%6$s, $3))
                ORDER BY row.%1$I %2$s, row.id %2$s
                LIMIT $4 + 1) rows)
        SELECT jsonb_build_object(
            'items', coalesce((SELECT %7$s FROM page WHERE n <= $4), '[]'::jsonb),
            'next_cursor', (SELECT api.cursor($5, (item).%1$I::text, (item).id) FROM page
                            WHERE n = $4 AND EXISTS (SELECT FROM page WHERE n = $4 + 1)))
        $query$,
        sort_column, direction, p_table, p_filter, CASE WHEN page.descending THEN '<' ELSE '>' END, sort_type,
        format(CASE WHEN renders_page THEN '%s(array_agg(item ORDER BY n))' ELSE 'jsonb_agg(%s(item) ORDER BY n)' END, p_render))
    INTO result
    USING p, page.after_key, page.after_id, page.page_size, page;
    RETURN result;
END
$$;

REVOKE ALL ON FUNCTION api.not_found(), api.invalid_param(text, text), api.forbidden(text, text),
    api.conflict(text, text), api.refuse_versioned_write(integer, integer), api.versioned_delete(jsonb, regclass),
    api.reraise(text, text, text, jsonb),
    api.request_hash(jsonb), api.replay(text, jsonb), api.remember(text, jsonb, jsonb), api.page(jsonb, text),
    api.cursor(api.page, text, uuid), api.contains_pattern(text),
    api.list(jsonb, regclass, regproc, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.not_found(), api.invalid_param(text, text), api.forbidden(text, text),
    api.conflict(text, text), api.refuse_versioned_write(integer, integer), api.versioned_delete(jsonb, regclass),
    api.reraise(text, text, text, jsonb),
    api.request_hash(jsonb), api.replay(text, jsonb), api.remember(text, jsonb, jsonb), api.page(jsonb, text),
    api.cursor(api.page, text, uuid), api.contains_pattern(text),
    api.list(jsonb, regclass, regproc, text, jsonb, text) TO engagement_app;

-- The highest applied migration, for the server's start-up check and /readyz (a server refuses a schema newer
-- than the SQL it was shipped with, and is not ready while migrations are pending). The owner's meta schema is
-- not readable by the server's role, hence the definer.
CREATE OR REPLACE FUNCTION app.schema_version()
RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(max(version), 0) FROM meta.schema_migrations $$;
REVOKE ALL ON FUNCTION app.schema_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.schema_version() TO engagement_app;
