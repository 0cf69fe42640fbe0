-- The customer-success journey stage of an engagement, beside its delivery status, and the record of every
-- stage change. The rules (lost is terminal, archived engagements keep their stage) and the recording are in
-- SQL/definitions/0200_journey_stages.sql; the policies in 9000_policies.sql.
ALTER TABLE app.engagements
    ADD COLUMN journey_stage text NOT NULL DEFAULT 'onboarding'
        CONSTRAINT engagements_journey_stage
        CHECK (journey_stage IN ('onboarding', 'adoption', 'monitoring', 'expansion', 'renewal', 'lost')),
    ADD COLUMN journey_stage_changed_at timestamptz;
GRANT UPDATE (journey_stage) ON app.engagements TO engagement_app;

CREATE TABLE app.engagement_stage_changes (
    organisation_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    engagement_id uuid NOT NULL,
    from_stage text NOT NULL,
    to_stage text NOT NULL,
    changed_by uuid,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason text NOT NULL DEFAULT '',
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT stage_changes_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
-- History per engagement, in order (the index also serves the foreign key's cascade).
CREATE INDEX stage_changes_by_engagement ON app.engagement_stage_changes (organisation_id, engagement_id, id);
-- Nobody sees a row until 9000_policies.sql gives the table its policies, in the same deployment.
ALTER TABLE app.engagement_stage_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.engagement_stage_changes FORCE ROW LEVEL SECURITY;
GRANT SELECT ON app.engagement_stage_changes TO engagement_app;
