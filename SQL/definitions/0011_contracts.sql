-- Current definitions (first made by migration 0011_contracts). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

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
REVOKE ALL ON FUNCTION app.contract_json(c app.contracts) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.contract_json(c app.contracts) TO engagement_app;

CREATE OR REPLACE VIEW reporting.contracts WITH (security_barrier) AS
SELECT c.id, c.reference, c.title, c.contract_type, c.total_value, c.currency, c.start_date, c.end_date, c.status,
       c.customer_party_id, p.name AS customer_name,
       (SELECT count(*) FROM app.engagements e WHERE e.organisation_id = c.organisation_id AND e.contract_id = c.id) AS engagement_count,
       c.version, c.created_at, c.updated_at
FROM app.contracts c
JOIN app.parties p ON p.organisation_id = c.organisation_id AND p.id = c.customer_party_id
WHERE c.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.contracts TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.contract_rates WITH (security_barrier) AS
SELECT r.contract_id, c.reference AS contract_reference, r.rate_key, r.rate_per_hour, c.currency
FROM app.contract_rates r
JOIN app.contracts c ON c.organisation_id = r.organisation_id AND c.id = r.contract_id
WHERE r.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.contract_rates TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.contract_sla_terms WITH (security_barrier) AS
SELECT t.id, t.contract_id, c.reference AS contract_reference, t.metric, t.target, t.comparison,
       t.measurement_period, t.penalty, t.exclusions
FROM app.contract_sla_terms t
JOIN app.contracts c ON c.organisation_id = t.organisation_id AND c.id = t.contract_id
WHERE t.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.contract_sla_terms TO engagement_reporting;
