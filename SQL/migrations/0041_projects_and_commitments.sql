-- Delivery against the contract: projects and their deliverables under an engagement, and the commitments a
-- contract makes (FTE clauses, hours blocks, deliverables due), whose fulfilment is computed from the check-ins'
-- capacity actuals and the deliverables' acceptance. Per-organisation commercial settings (hours per FTE, the
-- renewal window). Rules, fulfilment and methods: SQL/definitions/0410_projects.sql, 0411_commitments.sql,
-- 0412_commitment_fulfilment.sql; policies: 9000_policies.sql.

CREATE TABLE app.commercial_settings (
    organisation_id uuid PRIMARY KEY REFERENCES app.organisations (id) ON DELETE CASCADE,
    -- The hours one FTE stands for in a month (default 160: 8 hours × 20 working days).
    hours_per_fte numeric(6, 2) NOT NULL DEFAULT 160
        CONSTRAINT commercial_settings_hours_per_fte CHECK (hours_per_fte > 0 AND hours_per_fte <= 744),
    -- Contracts ending within this many days raise the renewal signal.
    renewal_window_days integer NOT NULL DEFAULT 90
        CONSTRAINT commercial_settings_renewal_window CHECK (renewal_window_days BETWEEN 1 AND 730),
    -- When set, the signal also opens the renewal opportunity (once per contract).
    auto_renewal_opportunities boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid
);
INSERT INTO app.commercial_settings (organisation_id) SELECT id FROM app.organisations;

CREATE TABLE app.projects (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    owner_user_id uuid,
    start_date date,
    end_date date,
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'active', 'on_hold', 'completed', 'cancelled')),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT projects_dates CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
    CONSTRAINT projects_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT projects_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id)
);
-- Target of the deliverables' key: a deliverable's project belongs to the deliverable's engagement.
CREATE UNIQUE INDEX projects_engagement_id_unique ON app.projects (organisation_id, engagement_id, id);
CREATE INDEX projects_by_name ON app.projects (organisation_id, name, id);
CREATE INDEX projects_by_created ON app.projects (organisation_id, created_at, id);

-- What a contract commits to. fte: a fraction of full-time people per month (hours_per_fte each); hours: a
-- block of hours per month, per quarter or over the whole commitment; deliverable: something accepted by its
-- due date. Dates default to the contract's; role (optional) counts only that role's hours.
CREATE TABLE app.commitments (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    contract_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('fte', 'hours', 'deliverable')),
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    fte numeric(7, 3) CONSTRAINT commitments_fte CHECK (fte > 0 AND fte <= 1000),
    hours numeric(10, 2) CONSTRAINT commitments_hours CHECK (hours > 0),
    period text NOT NULL DEFAULT 'month' CHECK (period IN ('month', 'quarter', 'contract')),
    role text CHECK (length(btrim(role)) BETWEEN 1 AND 100),
    start_date date NOT NULL,
    end_date date,
    due_date date,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT commitments_shape CHECK (
           (kind = 'fte' AND fte IS NOT NULL AND hours IS NULL AND due_date IS NULL AND period = 'month')
        OR (kind = 'hours' AND hours IS NOT NULL AND fte IS NULL AND due_date IS NULL)
        OR (kind = 'deliverable' AND due_date IS NOT NULL AND fte IS NULL AND hours IS NULL AND role IS NULL
            AND period = 'contract')),
    CONSTRAINT commitments_dates CHECK (end_date IS NULL OR end_date >= start_date),
    CONSTRAINT commitments_contract_fk FOREIGN KEY (organisation_id, contract_id)
        REFERENCES app.contracts (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX commitments_by_contract ON app.commitments (organisation_id, contract_id);
CREATE INDEX commitments_by_name ON app.commitments (organisation_id, title, id);
CREATE INDEX commitments_by_created ON app.commitments (organisation_id, created_at, id);

-- The engagements a commitment applies to (none listed: every engagement of its contract).
CREATE TABLE app.commitment_engagements (
    organisation_id uuid NOT NULL,
    commitment_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    PRIMARY KEY (organisation_id, commitment_id, engagement_id),
    CONSTRAINT commitment_engagements_commitment_fk FOREIGN KEY (organisation_id, commitment_id)
        REFERENCES app.commitments (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT commitment_engagements_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX commitment_engagements_by_engagement ON app.commitment_engagements (organisation_id, engagement_id);

CREATE TABLE app.deliverables (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    project_id uuid NOT NULL,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    owner_user_id uuid,
    due_date date,
    status text NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'in_progress', 'submitted', 'accepted', 'rejected')),
    -- The deliverable commitment it fulfils.
    commitment_id uuid,
    submitted_at timestamptz,
    accepted_at timestamptz,
    accepted_by uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT deliverables_project_fk FOREIGN KEY (organisation_id, engagement_id, project_id)
        REFERENCES app.projects (organisation_id, engagement_id, id) ON DELETE CASCADE,
    CONSTRAINT deliverables_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id),
    CONSTRAINT deliverables_commitment_fk FOREIGN KEY (organisation_id, commitment_id)
        REFERENCES app.commitments (organisation_id, id) ON DELETE SET NULL (commitment_id)
);
CREATE INDEX deliverables_by_project ON app.deliverables (organisation_id, project_id);
CREATE INDEX deliverables_by_engagement ON app.deliverables (organisation_id, engagement_id, status);
CREATE INDEX deliverables_by_commitment ON app.deliverables (organisation_id, commitment_id) WHERE commitment_id IS NOT NULL;
CREATE INDEX deliverables_by_name ON app.deliverables (organisation_id, title, id);
CREATE INDEX deliverables_by_created ON app.deliverables (organisation_id, created_at, id);

ALTER TABLE app.commercial_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.commercial_settings FORCE ROW LEVEL SECURITY;
ALTER TABLE app.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.projects FORCE ROW LEVEL SECURITY;
ALTER TABLE app.commitments ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.commitments FORCE ROW LEVEL SECURITY;
ALTER TABLE app.commitment_engagements ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.commitment_engagements FORCE ROW LEVEL SECURITY;
ALTER TABLE app.deliverables ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.deliverables FORCE ROW LEVEL SECURITY;
GRANT SELECT ON app.commercial_settings TO engagement_app;
GRANT UPDATE (hours_per_fte, renewal_window_days, auto_renewal_opportunities) ON app.commercial_settings TO engagement_app;
GRANT SELECT, INSERT, DELETE ON app.projects, app.commitments, app.deliverables TO engagement_app;
GRANT SELECT, INSERT, DELETE ON app.commitment_engagements TO engagement_app;
GRANT UPDATE (name, owner_user_id, start_date, end_date, status) ON app.projects TO engagement_app;
GRANT UPDATE (title, fte, hours, period, role, start_date, end_date, due_date) ON app.commitments TO engagement_app;
GRANT UPDATE (title, owner_user_id, due_date, status, commitment_id, accepted_at) ON app.deliverables TO engagement_app;
