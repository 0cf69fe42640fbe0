-- Product adoption: the organisation's products and their capabilities; per engagement, product and month the
-- licences purchased and active and the usage of each capability. Scores and methods:
-- SQL/definitions/0230_product_adoption.sql.
CREATE TABLE app.products (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '',
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id)
);
CREATE UNIQUE INDEX products_name_unique ON app.products (organisation_id, lower(name));
CREATE INDEX products_by_name ON app.products (organisation_id, name, id);
CREATE INDEX products_by_created ON app.products (organisation_id, created_at, id);

CREATE TABLE app.capabilities (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    product_id uuid NOT NULL,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- The monthly usage that counts as fully adopted.
    usage_target numeric NOT NULL CONSTRAINT capabilities_target CHECK (usage_target > 0),
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT capabilities_product_fk FOREIGN KEY (organisation_id, product_id)
        REFERENCES app.products (organisation_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX capabilities_name_unique ON app.capabilities (organisation_id, product_id, lower(name));

CREATE TABLE app.adoption_months (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    product_id uuid NOT NULL,
    period date NOT NULL CONSTRAINT adoption_months_period CHECK (period = date_trunc('month', period)::date),
    licences_purchased integer NOT NULL CONSTRAINT adoption_months_purchased CHECK (licences_purchased >= 0),
    licences_active integer NOT NULL CONSTRAINT adoption_months_active CHECK (licences_active >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT adoption_months_unique UNIQUE (organisation_id, engagement_id, product_id, period),
    CONSTRAINT adoption_months_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT adoption_months_product_fk FOREIGN KEY (organisation_id, product_id) REFERENCES app.products (organisation_id, id)
);
CREATE INDEX adoption_months_by_product ON app.adoption_months (organisation_id, product_id);

CREATE TABLE app.capability_usage (
    organisation_id uuid NOT NULL,
    adoption_month_id uuid NOT NULL,
    capability_id uuid NOT NULL,
    usage_count numeric NOT NULL CONSTRAINT capability_usage_count CHECK (usage_count >= 0),
    PRIMARY KEY (organisation_id, adoption_month_id, capability_id),
    CONSTRAINT capability_usage_month_fk FOREIGN KEY (organisation_id, adoption_month_id)
        REFERENCES app.adoption_months (organisation_id, id) ON DELETE CASCADE,
    -- A capability with recorded usage cannot be removed.
    CONSTRAINT capability_usage_capability_fk FOREIGN KEY (organisation_id, capability_id)
        REFERENCES app.capabilities (organisation_id, id)
);
CREATE INDEX capability_usage_by_capability ON app.capability_usage (organisation_id, capability_id);

ALTER TABLE app.products ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.products FORCE ROW LEVEL SECURITY;
ALTER TABLE app.capabilities ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.capabilities FORCE ROW LEVEL SECURITY;
ALTER TABLE app.adoption_months ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.adoption_months FORCE ROW LEVEL SECURITY;
ALTER TABLE app.capability_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.capability_usage FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON app.products, app.capabilities, app.adoption_months, app.capability_usage TO engagement_app;
GRANT UPDATE (name, description, archived_at) ON app.products TO engagement_app;
GRANT UPDATE (usage_target) ON app.capabilities TO engagement_app;
GRANT UPDATE (licences_purchased, licences_active, updated_at) ON app.adoption_months TO engagement_app;
