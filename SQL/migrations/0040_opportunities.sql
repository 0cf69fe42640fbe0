-- Opportunities: the sales pipeline in front of delivery. Each organisation orders its own open stages; the two
-- closed stages are fixed. A won opportunity has exactly one engagement; a new (not renewal) one is won only with
-- a contract or MOU linked. The rules and the methods: SQL/definitions/0400_opportunities.sql and
-- 0401_api_opportunities.sql; policies: 9000_policies.sql.

-- Pipeline stages per organisation: the open ones in the organisation's order, then closed_won and closed_lost
-- (always present, never removed or renamed: the rules name them).
CREATE TABLE app.pipeline_stages (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    name text NOT NULL CONSTRAINT pipeline_stages_name CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    position integer NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('open', 'won', 'lost')),
    PRIMARY KEY (organisation_id, name),
    CONSTRAINT pipeline_stages_closed CHECK ((name = 'closed_won') = (outcome = 'won') AND (name = 'closed_lost') = (outcome = 'lost'))
);
INSERT INTO app.pipeline_stages (organisation_id, name, position, outcome)
SELECT o.id, s.name, s.position, s.outcome FROM app.organisations o,
    (VALUES ('qualifying', 1, 'open'), ('prospecting', 2, 'open'), ('partnering', 3, 'open'), ('invoicing', 4, 'open'),
            ('closed_won', 1000, 'won'), ('closed_lost', 1001, 'lost')) AS s(name, position, outcome);

CREATE TABLE app.opportunities (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_party_id uuid NOT NULL,
    kind text NOT NULL DEFAULT 'new' CHECK (kind IN ('new', 'renewal')),
    -- What a renewal renews: an engagement, a contract, or both (of the same customer).
    renews_engagement_id uuid,
    renews_contract_id uuid,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    value numeric(18, 2) NOT NULL CHECK (value >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    expected_close_date date,
    owner_user_id uuid,
    stage text NOT NULL,
    stage_changed_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    lost_reason text NOT NULL DEFAULT '' CHECK (length(lost_reason) <= 2000),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT opportunities_renews CHECK (
        (kind = 'renewal') = (renews_engagement_id IS NOT NULL OR renews_contract_id IS NOT NULL)),
    CONSTRAINT opportunities_customer_fk FOREIGN KEY (organisation_id, customer_party_id) REFERENCES app.parties (organisation_id, id),
    CONSTRAINT opportunities_stage_fk FOREIGN KEY (organisation_id, stage) REFERENCES app.pipeline_stages (organisation_id, name),
    CONSTRAINT opportunities_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id),
    CONSTRAINT opportunities_renews_engagement_fk FOREIGN KEY (organisation_id, renews_engagement_id)
        REFERENCES app.engagements (organisation_id, id),
    CONSTRAINT opportunities_renews_contract_fk FOREIGN KEY (organisation_id, renews_contract_id)
        REFERENCES app.contracts (organisation_id, id)
);
CREATE INDEX opportunities_by_name ON app.opportunities (organisation_id, title, id);
CREATE INDEX opportunities_by_created ON app.opportunities (organisation_id, created_at, id);
CREATE INDEX opportunities_by_close ON app.opportunities (organisation_id, expected_close_date, id);
CREATE INDEX opportunities_by_value ON app.opportunities (organisation_id, value, id);
-- Also serves the stage foreign key when a stage is removed.
CREATE INDEX opportunities_by_stage ON app.opportunities (organisation_id, stage);
CREATE INDEX opportunities_by_customer ON app.opportunities (organisation_id, customer_party_id);
-- The renewal signal asks "is there already a renewal of this contract?".
CREATE INDEX opportunities_by_renewed_contract ON app.opportunities (organisation_id, renews_contract_id)
    WHERE renews_contract_id IS NOT NULL;
CREATE INDEX opportunities_by_renewed_engagement ON app.opportunities (organisation_id, renews_engagement_id)
    WHERE renews_engagement_id IS NOT NULL;

-- The contracts (or MOUs) an opportunity was sold with. A contract is sold by one opportunity.
CREATE TABLE app.opportunity_contracts (
    organisation_id uuid NOT NULL,
    opportunity_id uuid NOT NULL,
    contract_id uuid NOT NULL,
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, opportunity_id, contract_id),
    CONSTRAINT opportunity_contracts_contract_unique UNIQUE (organisation_id, contract_id),
    CONSTRAINT opportunity_contracts_opportunity_fk FOREIGN KEY (organisation_id, opportunity_id)
        REFERENCES app.opportunities (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT opportunity_contracts_contract_fk FOREIGN KEY (organisation_id, contract_id)
        REFERENCES app.contracts (organisation_id, id)
);

-- Every stage an opportunity entered: created (from NULL) and each move, so conversion and velocity are queries.
CREATE TABLE app.opportunity_stage_changes (
    organisation_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    opportunity_id uuid NOT NULL,
    from_stage text,
    to_stage text NOT NULL,
    changed_by uuid,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason text NOT NULL DEFAULT '',
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT opportunity_stage_changes_opportunity_fk FOREIGN KEY (organisation_id, opportunity_id)
        REFERENCES app.opportunities (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX opportunity_stage_changes_by_opportunity ON app.opportunity_stage_changes (organisation_id, opportunity_id, id);

-- The engagement a won opportunity got: at most one per opportunity (the unique index is what makes exactly one
-- of two concurrent attempts win); that it has one is checked at commit (0400_opportunities.sql).
ALTER TABLE app.engagements ADD COLUMN opportunity_id uuid,
    ADD CONSTRAINT engagements_opportunity_fk FOREIGN KEY (organisation_id, opportunity_id)
        REFERENCES app.opportunities (organisation_id, id);
CREATE UNIQUE INDEX engagements_opportunity_unique ON app.engagements (organisation_id, opportunity_id)
    WHERE opportunity_id IS NOT NULL;
GRANT UPDATE (opportunity_id) ON app.engagements TO engagement_app;

ALTER TABLE app.pipeline_stages ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.pipeline_stages FORCE ROW LEVEL SECURITY;
ALTER TABLE app.opportunities ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.opportunities FORCE ROW LEVEL SECURITY;
ALTER TABLE app.opportunity_contracts ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.opportunity_contracts FORCE ROW LEVEL SECURITY;
ALTER TABLE app.opportunity_stage_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.opportunity_stage_changes FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.pipeline_stages, app.opportunity_contracts TO engagement_app;
GRANT SELECT, INSERT, DELETE ON app.opportunities TO engagement_app;
GRANT UPDATE (customer_party_id, renews_engagement_id, renews_contract_id, title, value, currency, expected_close_date,
              owner_user_id, stage, lost_reason) ON app.opportunities TO engagement_app;
GRANT SELECT ON app.opportunity_stage_changes TO engagement_app;
