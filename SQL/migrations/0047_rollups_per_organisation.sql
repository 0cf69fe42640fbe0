-- The maintained rollups become tables kept current one organisation at a time (issue 17): a whole-database
-- REFRESH MATERIALIZED VIEW cost every organisation's rows after any organisation's write (35 s at 111k
-- engagements). app.refresh_rollups(organisation) (SQL/definitions/0022_rollups.sql) replaces one organisation's
-- rows in one transaction; the write triggers name the organisation in their notification.
--
-- The views over the materialized views go with them (CASCADE); the definitions re-make them in this run. The
-- tables start empty: until an organisation's first refresh (the server refreshes every organisation once when its
-- listener connects), engagement.rollup answers live, as it does for an engagement newer than the last refresh.
DROP MATERIALIZED VIEW rollup.engagement_summary CASCADE;
DROP MATERIALIZED VIEW rollup.engagement_monthly CASCADE;
DROP MATERIALIZED VIEW rollup.engagement_finance CASCADE;
DROP MATERIALIZED VIEW rollup.engagement_work CASCADE;

-- The same columns as the functions that compute them (the row types of 0022 and 0033).
CREATE TABLE rollup.engagement_summary (LIKE app.rollup_summary_row, PRIMARY KEY (organisation_id, engagement_id));
CREATE TABLE rollup.engagement_monthly (LIKE app.rollup_monthly_row, PRIMARY KEY (organisation_id, engagement_id, period));
CREATE TABLE rollup.engagement_finance (LIKE app.rollup_finance_row, PRIMARY KEY (organisation_id, engagement_id, period, currency));
CREATE TABLE rollup.engagement_work (LIKE app.rollup_work_row, PRIMARY KEY (organisation_id, engagement_id));

-- Owner-only, as the materialized views were; row-level security besides (policies in 9000_policies.sql), so a
-- grant added by mistake would still show an organisation only its own rows.
REVOKE ALL ON rollup.engagement_summary, rollup.engagement_monthly, rollup.engagement_finance, rollup.engagement_work FROM PUBLIC;
ALTER TABLE rollup.engagement_summary ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollup.engagement_summary FORCE ROW LEVEL SECURITY;
ALTER TABLE rollup.engagement_monthly ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollup.engagement_monthly FORCE ROW LEVEL SECURITY;
ALTER TABLE rollup.engagement_finance ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollup.engagement_finance FORCE ROW LEVEL SECURITY;
ALTER TABLE rollup.engagement_work ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollup.engagement_work FORCE ROW LEVEL SECURITY;

-- Each refresh is of one organisation now.
ALTER TABLE rollup.refreshes ADD COLUMN organisation_id uuid;
CREATE INDEX refreshes_organisation ON rollup.refreshes (organisation_id, started_at);
