-- Staged bulk imports (`*.import` with import_id): a file larger than one call is sent in batches that are only
-- kept here, then written by the call that commits it, in one transaction (engagementctl import --atomic). Rows
-- stay as the client sent them (after the server's per-row checks); a stage older than a day is dropped by the
-- next staging call of its organisation. Private: no reporting view; each user sees only the imports they staged
-- (SQL/definitions/9000_policies.sql).
CREATE TABLE app.import_batches (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    import_id uuid NOT NULL,
    batch uuid NOT NULL DEFAULT gen_random_uuid(),  -- batches may be staged concurrently; staged_at orders them
    method text NOT NULL,
    staged_by uuid NOT NULL,
    staged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    rows jsonb NOT NULL CHECK (jsonb_typeof(rows) = 'array'),
    PRIMARY KEY (organisation_id, import_id, batch)
);
CREATE INDEX import_batches_age ON app.import_batches (organisation_id, staged_at);
ALTER TABLE app.import_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.import_batches FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON app.import_batches TO engagement_app;
