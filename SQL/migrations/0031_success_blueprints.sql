-- Success plans: an engagement's objectives, the outcomes that measure them and the initiatives that work towards
-- them; success blueprints, reusable sets of such items, copied into an engagement when applied. Rules, methods
-- and views: SQL/definitions/0240_success_blueprints.sql and 0241_success_plans.sql; policies: 9000_policies.sql.

-- Initiative types: a per-organisation list, seeded with the usual ones (new organisations by a trigger).
CREATE TABLE app.initiative_types (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    name text NOT NULL CONSTRAINT initiative_types_name CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    PRIMARY KEY (organisation_id, name)
);
INSERT INTO app.initiative_types (organisation_id, name)
SELECT o.id, k.name FROM app.organisations o,
    unnest(ARRAY['onboarding', 'enablement', 'adoption', 'expansion', 'remediation']) AS k(name);

-- A blueprint's items live in one document, `objectives`:
--   [{key, title, description, mandatory, target_offset_days,
--     outcomes:    [{key, title, unit, target, direction, kpi, mandatory}],
--     initiatives: [{key, title, type, due_offset_days, mandatory}]}]
-- Every item has a stable `key` (filled in when absent) that survives edits, so an engagement's copies can be
-- compared with the blueprint's current version. `version` counts the blueprint's edits.
CREATE TABLE app.blueprints (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    product_id uuid,
    objectives jsonb NOT NULL CHECK (jsonb_typeof(objectives) = 'array'),
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT blueprints_product_fk FOREIGN KEY (organisation_id, product_id) REFERENCES app.products (organisation_id, id)
);
CREATE UNIQUE INDEX blueprints_name_unique ON app.blueprints (organisation_id, lower(name));
CREATE INDEX blueprints_by_name ON app.blueprints (organisation_id, name, id);
CREATE INDEX blueprints_by_created ON app.blueprints (organisation_id, created_at, id);

-- Which blueprint an engagement got, at which version, last applied when and by whom.
CREATE TABLE app.blueprint_applications (
    organisation_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    blueprint_id uuid NOT NULL,
    blueprint_version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by uuid,
    PRIMARY KEY (organisation_id, engagement_id, blueprint_id),
    CONSTRAINT blueprint_applications_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT blueprint_applications_blueprint_fk FOREIGN KEY (organisation_id, blueprint_id)
        REFERENCES app.blueprints (organisation_id, id)
);
CREATE INDEX blueprint_applications_by_blueprint ON app.blueprint_applications (organisation_id, blueprint_id);

CREATE TABLE app.objectives (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    description text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'not_started'
        CHECK (status IN ('not_started', 'on_track', 'at_risk', 'achieved', 'missed', 'cancelled')),
    target_date date,
    owner_user_id uuid,
    mandatory boolean NOT NULL DEFAULT false,
    -- Where it came from: the blueprint and the item's key there (NULL: added by hand).
    blueprint_id uuid,
    blueprint_key uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT objectives_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT objectives_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id),
    CONSTRAINT objectives_blueprint_fk FOREIGN KEY (organisation_id, blueprint_id) REFERENCES app.blueprints (organisation_id, id),
    CONSTRAINT objectives_blueprint_item CHECK ((blueprint_id IS NULL) = (blueprint_key IS NULL))
);
-- created_at is the clock's time, not the transaction's, so items created together (objective.create with its
-- outcomes, blueprint.apply) list in the order they were made.
-- Target of the outcomes' and initiatives' keys: an item's objective belongs to the item's engagement.
CREATE UNIQUE INDEX objectives_engagement_id_unique ON app.objectives (organisation_id, engagement_id, id);
-- A blueprint item is copied into an engagement once.
CREATE UNIQUE INDEX objectives_blueprint_key_unique ON app.objectives (organisation_id, engagement_id, blueprint_key);
CREATE INDEX objectives_by_status ON app.objectives (organisation_id, status, target_date);
CREATE INDEX objectives_by_created ON app.objectives (organisation_id, created_at, id);

-- An outcome measures its objective: a target in a unit, reached from above or below; bound to one of the
-- engagement's KPIs its actual is the KPI's latest checked-in value, otherwise it is recorded on the outcome.
CREATE TABLE app.outcomes (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    unit text NOT NULL DEFAULT '' CHECK (length(unit) <= 40),
    target numeric NOT NULL,
    direction text NOT NULL DEFAULT 'higher_is_better' CHECK (direction IN ('higher_is_better', 'lower_is_better')),
    kpi_id uuid,
    actual numeric,
    mandatory boolean NOT NULL DEFAULT false,
    blueprint_key uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT outcomes_objective_fk FOREIGN KEY (organisation_id, engagement_id, objective_id)
        REFERENCES app.objectives (organisation_id, engagement_id, id) ON DELETE CASCADE,
    -- Only a KPI of the same engagement; a removed KPI unbinds the outcome.
    CONSTRAINT outcomes_kpi_fk FOREIGN KEY (organisation_id, engagement_id, kpi_id)
        REFERENCES app.engagement_kpis (organisation_id, engagement_id, id) ON DELETE SET NULL (kpi_id),
    -- A bound outcome's actual comes from check-ins, never from the outcome.
    CONSTRAINT outcomes_actual_source CHECK (kpi_id IS NULL OR actual IS NULL)
);
CREATE INDEX outcomes_by_objective ON app.outcomes (organisation_id, objective_id);
CREATE UNIQUE INDEX outcomes_blueprint_key_unique ON app.outcomes (organisation_id, engagement_id, blueprint_key);
CREATE INDEX outcomes_by_kpi ON app.outcomes (organisation_id, engagement_id, kpi_id) WHERE kpi_id IS NOT NULL;

CREATE TABLE app.initiatives (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    type text NOT NULL,
    stage text NOT NULL DEFAULT 'planned' CHECK (stage IN ('planned', 'in_progress', 'done', 'cancelled')),
    owner_user_id uuid,
    due_date date,
    mandatory boolean NOT NULL DEFAULT false,
    blueprint_key uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT initiatives_objective_fk FOREIGN KEY (organisation_id, engagement_id, objective_id)
        REFERENCES app.objectives (organisation_id, engagement_id, id) ON DELETE CASCADE,
    CONSTRAINT initiatives_type_fk FOREIGN KEY (organisation_id, type) REFERENCES app.initiative_types (organisation_id, name),
    CONSTRAINT initiatives_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id)
);
CREATE INDEX initiatives_by_objective ON app.initiatives (organisation_id, objective_id);
-- Work by type and stage over a subtree (rollups) reads per engagement.
CREATE INDEX initiatives_by_engagement ON app.initiatives (organisation_id, engagement_id, type, stage);
CREATE UNIQUE INDEX initiatives_blueprint_key_unique ON app.initiatives (organisation_id, engagement_id, blueprint_key);
CREATE INDEX initiatives_by_created ON app.initiatives (organisation_id, created_at, id);

ALTER TABLE app.initiative_types ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.initiative_types FORCE ROW LEVEL SECURITY;
ALTER TABLE app.blueprints ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.blueprints FORCE ROW LEVEL SECURITY;
ALTER TABLE app.blueprint_applications ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.blueprint_applications FORCE ROW LEVEL SECURITY;
ALTER TABLE app.objectives ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.objectives FORCE ROW LEVEL SECURITY;
ALTER TABLE app.outcomes ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.outcomes FORCE ROW LEVEL SECURITY;
ALTER TABLE app.initiatives ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.initiatives FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON app.initiative_types TO engagement_app;
GRANT SELECT, INSERT, DELETE ON app.blueprints, app.objectives, app.outcomes, app.initiatives TO engagement_app;
GRANT UPDATE (name, description, product_id, objectives, archived_at) ON app.blueprints TO engagement_app;
GRANT SELECT, INSERT ON app.blueprint_applications TO engagement_app;
GRANT UPDATE (blueprint_version, applied_at, applied_by) ON app.blueprint_applications TO engagement_app;
GRANT UPDATE (title, description, status, target_date, owner_user_id) ON app.objectives TO engagement_app;
GRANT UPDATE (title, unit, target, direction, kpi_id, actual) ON app.outcomes TO engagement_app;
GRANT UPDATE (title, type, stage, owner_user_id, due_date) ON app.initiatives TO engagement_app;
