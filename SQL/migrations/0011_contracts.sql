-- Contracts: the commercial wrapper of one or more engagements, with rate overrides and SLA terms.
-- Amounts are numeric (exact), never floating point; currencies are ISO 4217 codes.
CREATE TABLE app.contracts (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_party_id uuid NOT NULL,
    reference text NOT NULL CHECK (length(btrim(reference)) BETWEEN 1 AND 100),
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    contract_type text NOT NULL CHECK (contract_type IN ('fixed_fee', 'time_and_materials', 'retainer', 'mou')),
    total_value numeric(18, 2) CHECK (total_value >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    start_date date NOT NULL,
    end_date date,
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'expired', 'terminated')),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT contracts_dates CHECK (end_date IS NULL OR end_date >= start_date),
    -- A memorandum of understanding may carry no value; every other type states one.
    CONSTRAINT contracts_value CHECK (contract_type = 'mou' OR total_value IS NOT NULL),
    CONSTRAINT contracts_customer_fk FOREIGN KEY (organisation_id, customer_party_id)
        REFERENCES app.parties (organisation_id, id)
);
CREATE UNIQUE INDEX contracts_reference_unique ON app.contracts (organisation_id, lower(reference));
CREATE INDEX contracts_by_name ON app.contracts (organisation_id, title, id);
CREATE INDEX contracts_by_created ON app.contracts (organisation_id, created_at, id);
CREATE INDEX contracts_by_customer ON app.contracts (organisation_id, customer_party_id);

-- Per-contract hourly rates for a role or rate-card line ("Senior engineer"), overriding the rate card.
CREATE TABLE app.contract_rates (
    organisation_id uuid NOT NULL,
    contract_id uuid NOT NULL,
    rate_key text NOT NULL CHECK (length(btrim(rate_key)) BETWEEN 1 AND 100),
    rate_per_hour numeric(12, 2) NOT NULL CHECK (rate_per_hour >= 0),
    PRIMARY KEY (organisation_id, contract_id, rate_key),
    CONSTRAINT contract_rates_contract_fk FOREIGN KEY (organisation_id, contract_id)
        REFERENCES app.contracts (organisation_id, id) ON DELETE CASCADE
);

-- SLA terms: a metric with a target and comparison over a measurement period, and the penalty for a breach:
-- penalty = {"tiers": [{"threshold": n, "credit_percent": n} | {"threshold": n, "credit_amount": n}, ...],
--            "cap_percent": n | "cap_amount": n} (credits as % of the period's fee, or fixed amounts).
CREATE TABLE app.contract_sla_terms (
    organisation_id uuid NOT NULL,
    contract_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    metric text NOT NULL CHECK (length(btrim(metric)) BETWEEN 1 AND 100),
    target numeric NOT NULL,
    comparison text NOT NULL CHECK (comparison IN ('>=', '<=')),
    measurement_period text NOT NULL CHECK (measurement_period IN ('monthly', 'quarterly', 'annual')),
    penalty jsonb NOT NULL DEFAULT '{"tiers": []}' CHECK (jsonb_typeof(penalty -> 'tiers') = 'array'),
    exclusions text NOT NULL DEFAULT '' CHECK (length(exclusions) <= 4000),
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT sla_terms_contract_fk FOREIGN KEY (organisation_id, contract_id)
        REFERENCES app.contracts (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX sla_terms_by_contract ON app.contract_sla_terms (organisation_id, contract_id);

-- Engagements may belong to a contract of the same organisation and the same customer.
ALTER TABLE app.engagements ADD CONSTRAINT engagements_contract_fk
    FOREIGN KEY (organisation_id, contract_id) REFERENCES app.contracts (organisation_id, id);
CREATE INDEX engagements_by_contract ON app.engagements (organisation_id, contract_id);
GRANT UPDATE (contract_id) ON app.engagements TO engagement_app;

CREATE OR REPLACE FUNCTION app.check_customer_links() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_TABLE_NAME = 'contracts' THEN
        PERFORM FROM app.parties
        WHERE organisation_id = NEW.organisation_id AND id = NEW.customer_party_id AND kind <> 'customer';
        IF FOUND THEN
            RAISE EXCEPTION 'must be a customer party' USING ERRCODE = 'EV001', CONSTRAINT = 'contracts_customer_kind';
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.customer_party_id <> OLD.customer_party_id AND EXISTS (
            SELECT FROM app.engagements WHERE organisation_id = NEW.organisation_id AND contract_id = NEW.id) THEN
            RAISE EXCEPTION 'the contract''s engagements belong to its current customer'
                USING ERRCODE = 'EV005', CONSTRAINT = 'contracts_customer_kind';
        END IF;
    ELSIF NEW.contract_id IS NOT NULL THEN
        PERFORM FROM app.contracts
        WHERE organisation_id = NEW.organisation_id AND id = NEW.contract_id AND customer_party_id <> NEW.customer_party_id;
        IF FOUND THEN
            RAISE EXCEPTION 'the contract belongs to another customer'
                USING ERRCODE = 'EV005', CONSTRAINT = 'engagements_contract_customer';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER contracts_check BEFORE INSERT OR UPDATE ON app.contracts
    FOR EACH ROW EXECUTE FUNCTION app.check_customer_links();
CREATE TRIGGER engagements_contract_check BEFORE INSERT OR UPDATE ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.check_customer_links();
CREATE TRIGGER contracts_touch BEFORE UPDATE ON app.contracts FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER contracts_audit AFTER INSERT OR UPDATE OR DELETE ON app.contracts FOR EACH ROW EXECUTE FUNCTION app.audit();
CREATE TRIGGER sla_terms_audit AFTER INSERT OR UPDATE OR DELETE ON app.contract_sla_terms
    FOR EACH ROW EXECUTE FUNCTION app.audit();

-- Rates have no id of their own: audited under their contract.
CREATE OR REPLACE FUNCTION app.audit_contract_rate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rate app.contract_rates := coalesce(NEW, OLD);
BEGIN
    INSERT INTO app.audit_log (organisation_id, user_id, method, entity, entity_id, action, before, after)
    VALUES (rate.organisation_id, nullif(current_setting('app.user_id', true), '')::uuid,
            coalesce(nullif(current_setting('app.method', true), ''), 'sql'), 'contract_rates', rate.contract_id,
            lower(TG_OP), CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END, CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
CREATE TRIGGER contract_rates_audit AFTER INSERT OR UPDATE OR DELETE ON app.contract_rates
    FOR EACH ROW EXECUTE FUNCTION app.audit_contract_rate();

ALTER TABLE app.contracts ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.contracts FORCE ROW LEVEL SECURITY;
ALTER TABLE app.contract_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.contract_rates FORCE ROW LEVEL SECURITY;
ALTER TABLE app.contract_sla_terms ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.contract_sla_terms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON app.contracts FOR SELECT USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY tenant_read ON app.contract_rates FOR SELECT USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY tenant_read ON app.contract_sla_terms FOR SELECT USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY manager_write ON app.contracts FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));
CREATE POLICY manager_write ON app.contract_rates FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));
CREATE POLICY manager_write ON app.contract_sla_terms FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));
GRANT SELECT, INSERT, DELETE ON app.contracts, app.contract_rates, app.contract_sla_terms TO engagement_app;
GRANT UPDATE (customer_party_id, reference, title, contract_type, total_value, currency, start_date, end_date, status)
    ON app.contracts TO engagement_app;
GRANT UPDATE (rate_per_hour) ON app.contract_rates TO engagement_app;

CREATE OR REPLACE FUNCTION app.contract_json(c app.contracts) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'reference', c.reference, 'title', c.title, 'contract_type', c.contract_type,
        'total_value', c.total_value, 'currency', c.currency, 'start_date', c.start_date, 'end_date', c.end_date,
        'status', c.status,
        'customer', (SELECT jsonb_build_object('id', p.id, 'name', p.name) FROM app.parties p
                     WHERE p.organisation_id = c.organisation_id AND p.id = c.customer_party_id),
        'rates', coalesce((SELECT jsonb_agg(jsonb_build_object('rate_key', r.rate_key, 'rate_per_hour', r.rate_per_hour) ORDER BY r.rate_key)
                           FROM app.contract_rates r WHERE r.organisation_id = c.organisation_id AND r.contract_id = c.id), '[]'::jsonb),
        'sla_terms', coalesce((SELECT jsonb_agg(jsonb_build_object(
                                   'id', t.id, 'metric', t.metric, 'target', t.target, 'comparison', t.comparison,
                                   'measurement_period', t.measurement_period, 'penalty', t.penalty, 'exclusions', t.exclusions)
                                   ORDER BY t.metric, t.id)
                               FROM app.contract_sla_terms t WHERE t.organisation_id = c.organisation_id AND t.contract_id = c.id), '[]'::jsonb),
        'engagement_count', (SELECT count(*) FROM app.engagements e WHERE e.organisation_id = c.organisation_id AND e.contract_id = c.id),
        'version', c.version, 'created_at', c.created_at, 'updated_at', c.updated_at)
$$;
GRANT EXECUTE ON FUNCTION app.contract_json(app.contracts) TO engagement_app;

CREATE VIEW reporting.contracts WITH (security_barrier) AS
SELECT c.id, c.reference, c.title, c.contract_type, c.total_value, c.currency, c.start_date, c.end_date, c.status,
       c.customer_party_id, p.name AS customer_name,
       (SELECT count(*) FROM app.engagements e WHERE e.organisation_id = c.organisation_id AND e.contract_id = c.id) AS engagement_count,
       c.version, c.created_at, c.updated_at
FROM app.contracts c
JOIN app.parties p ON p.organisation_id = c.organisation_id AND p.id = c.customer_party_id
WHERE c.organisation_id = (SELECT app.current_organisation_id());

CREATE VIEW reporting.contract_rates WITH (security_barrier) AS
SELECT r.contract_id, c.reference AS contract_reference, r.rate_key, r.rate_per_hour, c.currency
FROM app.contract_rates r
JOIN app.contracts c ON c.organisation_id = r.organisation_id AND c.id = r.contract_id
WHERE r.organisation_id = (SELECT app.current_organisation_id());

CREATE VIEW reporting.contract_sla_terms WITH (security_barrier) AS
SELECT t.id, t.contract_id, c.reference AS contract_reference, t.metric, t.target, t.comparison,
       t.measurement_period, t.penalty, t.exclusions
FROM app.contract_sla_terms t
JOIN app.contracts c ON c.organisation_id = t.organisation_id AND c.id = t.contract_id
WHERE t.organisation_id = (SELECT app.current_organisation_id());
