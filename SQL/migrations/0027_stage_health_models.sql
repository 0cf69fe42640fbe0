-- A health model per journey stage: for the whole organisation (template_id NULL) or for one template's
-- engagements. The choice order and the recomputation are in SQL/definitions/0201_stage_health_models.sql.
CREATE TABLE app.stage_health_models (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    template_id uuid,
    journey_stage text NOT NULL
        CONSTRAINT stage_health_models_stage
        CHECK (journey_stage IN ('onboarding', 'adoption', 'monitoring', 'expansion', 'renewal', 'lost')),
    model_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    -- One model per stage for the organisation, and one per stage and template (NULLS NOT DISTINCT: the
    -- organisation's own row, template_id NULL, is unique too).
    CONSTRAINT stage_health_models_unique UNIQUE NULLS NOT DISTINCT (organisation_id, template_id, journey_stage),
    CONSTRAINT stage_health_models_template_fk FOREIGN KEY (organisation_id, template_id)
        REFERENCES app.engagement_templates (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT stage_health_models_model_fk FOREIGN KEY (organisation_id, model_id)
        REFERENCES app.health_models (organisation_id, id)
);
-- The foreign key to the model (a model in use cannot be deleted) is checked through this index.
CREATE INDEX stage_health_models_by_model ON app.stage_health_models (organisation_id, model_id);
ALTER TABLE app.stage_health_models ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.stage_health_models FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON app.stage_health_models TO engagement_app;
GRANT UPDATE (model_id) ON app.stage_health_models TO engagement_app;
