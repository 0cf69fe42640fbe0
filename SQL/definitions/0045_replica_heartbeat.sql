-- Current definitions (first made by migration 0045_replica_heartbeat). Edit them here, never in a migration.

-- Stamped by every server with a replica configured, every 500 ms (ReplicaHeartbeat in the server; the migration that made the table says a second).
CREATE OR REPLACE FUNCTION app.replica_heartbeat()
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ UPDATE app.replica_heartbeat SET beat_at = clock_timestamp() $$;
REVOKE ALL ON FUNCTION app.replica_heartbeat() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.replica_heartbeat() TO engagement_app;

-- The first statement of a report read sent to the replica: raises ER001 when the last heartbeat replayed there is
-- older than p_max_ms (the replica is too far behind: the server reads from the primary instead), ER002 when this
-- is no replica at all. Clocks of primary and replica are assumed in step (NTP); the age includes up to one
-- heartbeat interval.
CREATE OR REPLACE FUNCTION app.require_replica_within(p_max_ms integer)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_lag_ms double precision;
BEGIN
    IF NOT pg_is_in_recovery() THEN
        RAISE EXCEPTION 'not a replica' USING ERRCODE = 'ER002';
    END IF;
    SELECT extract(epoch FROM clock_timestamp() - beat_at) * 1000 INTO v_lag_ms FROM app.replica_heartbeat;
    IF v_lag_ms IS NULL OR v_lag_ms > p_max_ms THEN
        RAISE EXCEPTION 'replica % ms behind', round(v_lag_ms::numeric) USING ERRCODE = 'ER001';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION app.require_replica_within(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.require_replica_within(integer) TO engagement_app;
