-- The timeline: one chronological record per engagement of everything that happens to it, written by the
-- database when the change commits (from the audit log and the health scores; notes by timeline.note). Read
-- through RLS; searched through a vetted definer function (SQL/definitions/0300_timeline.sql explains why).
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA app;

CREATE TABLE app.timeline_entries (
    organisation_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    engagement_id uuid NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    entry_type text NOT NULL,
    title text NOT NULL CHECK (length(title) <= 500),
    body text NOT NULL DEFAULT '' CHECK (length(body) <= 20000),
    actor_user_id uuid,
    -- The row the entry is about, where there is one (a risk, a touchpoint, a check-in …).
    entity text,
    entity_id uuid,
    details jsonb NOT NULL DEFAULT '{}',
    -- English stemming for words, plus the unstemmed ('simple') lexemes so names, codes and words English
    -- stemming would change are found as typed.
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') || setweight(to_tsvector('english'::regconfig, body), 'B')
        || to_tsvector('simple'::regconfig, title || ' ' || body)) STORED,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT timeline_entries_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
-- One engagement's (or a subtree's) entries in time order, both ways.
CREATE INDEX timeline_by_engagement ON app.timeline_entries (organisation_id, engagement_id, occurred_at, id);
-- The organisation's entries in time order (organisation-wide lists; the plan for frequent search terms).
CREATE INDEX timeline_by_time ON app.timeline_entries (organisation_id, occurred_at, id);
-- Search: the organisation and the text in one GIN index (btree_gin), so a rare term costs its own postings
-- within the organisation, never a scan of it.
CREATE INDEX timeline_search ON app.timeline_entries USING gin (organisation_id, search);

ALTER TABLE app.timeline_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.timeline_entries FORCE ROW LEVEL SECURITY;
GRANT SELECT ON app.timeline_entries TO engagement_app;
-- Notes only (the policy in 9000_policies.sql says so).
GRANT INSERT (organisation_id, engagement_id, entry_type, title, body, actor_user_id) ON app.timeline_entries TO engagement_app;
