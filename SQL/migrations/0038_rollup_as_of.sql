-- engagement.rollup takes as_of: app.engagement_rollup gains a parameter (a new signature, so the old one goes
-- first; SQL/definitions/0022_rollups.sql makes the new one in the same run).
DROP FUNCTION app.engagement_rollup(uuid, boolean);
