-- A heartbeat the primary stamps every second while a server has a read replica configured
-- (ENGAGEMENT_REPLICA_DATABASE_URL). On a streaming replica the age of the replayed row bounds how stale the
-- replica is, whatever the cause (WAL not yet replayed, or the replica cut off from its primary), so report reads
-- go there only while it is within ENGAGEMENT_REPLICA_MAX_LAG_MS. Global, not tenant data: one row, written only
-- by app.replica_heartbeat() (SQL/definitions/0045_replica_heartbeat.sql); the server's role has no privilege on it.
CREATE TABLE app.replica_heartbeat (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    beat_at timestamptz NOT NULL
);
INSERT INTO app.replica_heartbeat (beat_at) VALUES (now());
