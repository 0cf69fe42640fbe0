-- Current definitions (first made by migration 0003_organisations_users_api_keys). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Authentication: look up a key by its public id before any tenant context exists. Runs as the owner so it
-- can see every organisation's keys, returns only what the server needs to check the hash in constant time.
CREATE OR REPLACE FUNCTION app.find_api_key(p_key_id text)
RETURNS TABLE (organisation_id uuid, organisation_name text, user_id uuid, user_role text, key_hash bytea)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT k.organisation_id, o.name, k.user_id, u.role, k.key_hash
    FROM app.api_keys k
    JOIN app.users u ON u.organisation_id = k.organisation_id AND u.id = k.user_id
    JOIN app.organisations o ON o.id = k.organisation_id
    WHERE k.key_id = p_key_id AND k.revoked_at IS NULL AND u.disabled_at IS NULL;
END
$$;
REVOKE ALL ON FUNCTION app.find_api_key(p_key_id text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.find_api_key(p_key_id text) TO engagement_app;

-- Every call's first statement: the key's tenant context for row-level security, the method for the audit log,
-- and (when the server passes it) the call's request id as the transaction's application_name (`engagementd
-- c12-r5`, the `request` of the server's log lines), so PostgreSQL's log (%a in log_line_prefix) and
-- pg_stat_activity tie a statement to its call. All of it is transaction-local. The lookup and the settings are one
-- statement (a lookup and five more, before): the SQL of a point read, side by side under pgbench, 11,550–11,746
-- → 12,143–12,252 tps.
--
-- The server also passes the organisation its session authenticated for: the key is then found by the unique
-- (organisation_id, key_id), which on Citus reads one shard instead of every shard.
--
-- On Citus (`engagementctl distribute` sets citus.propagate_set_commands = 'local' for engagement_app) the tenant
-- settings must reach the workers, whose shards apply the policies: set_config() stays on the coordinator, while
-- a SET LOCAL run inside a function in a transaction block is sent by Citus to every worker the transaction then
-- uses (the server's pool wraps its pipelines in BEGIN … COMMIT there).
CREATE OR REPLACE FUNCTION app.begin_call(
    p_key_id text, p_method text, p_request_id text DEFAULT NULL, p_organisation_id uuid DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    context record;
BEGIN
    IF current_setting('citus.propagate_set_commands', true) IS DISTINCT FROM 'local' THEN
        PERFORM set_config('app.organisation_id', a.organisation_id::text, true),
                set_config('app.user_id', a.user_id::text, true),
                set_config('app.user_role', u.role, true),
                set_config('app.method', coalesce(p_method, ''), true),
                CASE WHEN p_request_id IS NOT NULL
                    THEN set_config('application_name', left('engagementd ' || p_request_id, 63), true) END
        FROM app.api_keys a
        JOIN app.users u ON u.organisation_id = a.organisation_id AND u.id = a.user_id
        WHERE a.key_id = p_key_id AND (p_organisation_id IS NULL OR a.organisation_id = p_organisation_id)
          AND a.revoked_at IS NULL AND u.disabled_at IS NULL;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'API key is revoked or unknown' USING ERRCODE = 'EA001';
        END IF;
        RETURN;
    END IF;
    IF p_organisation_id IS NULL THEN
        SELECT a.organisation_id, a.user_id, u.role INTO context
        FROM app.api_keys a
        JOIN app.users u ON u.organisation_id = a.organisation_id AND u.id = a.user_id
        WHERE a.key_id = p_key_id AND a.revoked_at IS NULL AND u.disabled_at IS NULL;
    ELSE
        SELECT a.organisation_id, a.user_id, u.role INTO context
        FROM app.api_keys a
        JOIN app.users u ON u.organisation_id = a.organisation_id AND u.id = a.user_id
        WHERE a.organisation_id = p_organisation_id AND a.key_id = p_key_id AND a.revoked_at IS NULL
          AND u.organisation_id = p_organisation_id AND u.disabled_at IS NULL;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'API key is revoked or unknown' USING ERRCODE = 'EA001';
    END IF;
    EXECUTE format('SET LOCAL app.organisation_id = %L', context.organisation_id);
    EXECUTE format('SET LOCAL app.user_id = %L', context.user_id);
    EXECUTE format('SET LOCAL app.user_role = %L', context.role);
    EXECUTE format('SET LOCAL app.method = %L', coalesce(p_method, ''));
    IF p_request_id IS NOT NULL THEN
        PERFORM set_config('application_name', left('engagementd ' || p_request_id, 63), true);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION app.begin_call(text, text, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.begin_call(text, text, text, uuid) TO engagement_app;
