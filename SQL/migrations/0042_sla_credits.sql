-- Computed SLA credits: exclusion windows recorded against a contract's SLA term for one engagement, and the
-- result per term, engagement and measurement period with its arithmetic, recomputed by the database when an
-- input changes. Rules, computation and methods: SQL/definitions/0420_sla_terms.sql and 0421_sla_credits.sql;
-- policies: 9000_policies.sql.

-- Time removed before measuring (planned maintenance, outages the customer caused): windows of one term and one
-- engagement never overlap, so no minute is excluded twice.
CREATE TABLE app.sla_exclusions (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    term_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    reason text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT sla_exclusions_window CHECK (ends_at > starts_at),
    CONSTRAINT sla_exclusions_term_fk FOREIGN KEY (organisation_id, term_id)
        REFERENCES app.contract_sla_terms (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT sla_exclusions_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT sla_exclusions_overlap EXCLUDE USING gist (
        organisation_id WITH =, term_id WITH =, engagement_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX sla_exclusions_by_engagement ON app.sla_exclusions (organisation_id, engagement_id, starts_at);

-- One row per term, engagement and measurement period with KPI data: what was measured, what the exclusions
-- left, whether it breached, the tier, the fee and the credit issued; `explanation` keeps every step.
CREATE TABLE app.sla_results (
    organisation_id uuid NOT NULL,
    term_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    status text NOT NULL CHECK (status IN ('met', 'breached', 'excluded')),
    measured numeric,
    adjusted numeric,
    excluded_minutes numeric NOT NULL DEFAULT 0,
    tier jsonb,
    fee numeric(18, 2),
    credit numeric(18, 2) NOT NULL DEFAULT 0,
    currency text NOT NULL,
    explanation jsonb NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, term_id, engagement_id, period_start),
    CONSTRAINT sla_results_term_fk FOREIGN KEY (organisation_id, term_id)
        REFERENCES app.contract_sla_terms (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT sla_results_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX sla_results_by_engagement ON app.sla_results (organisation_id, engagement_id, period_start);

ALTER TABLE app.sla_exclusions ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.sla_exclusions FORCE ROW LEVEL SECURITY;
ALTER TABLE app.sla_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.sla_results FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON app.sla_exclusions TO engagement_app;
GRANT SELECT ON app.sla_results TO engagement_app;
