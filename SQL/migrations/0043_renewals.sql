-- Renewals: contracts ending within the organisation's window (commercial_settings.renewal_window_days) raise a
-- renewal signal once per contract and end date; with auto_renewal_opportunities the signal also opens the renewal
-- opportunity. Sweep, methods and reports: SQL/definitions/0430_renewals.sql; policies: 9000_policies.sql.
CREATE TABLE app.renewal_signals (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    contract_id uuid NOT NULL,
    ends_on date NOT NULL,
    raised_at timestamptz NOT NULL DEFAULT now(),
    opportunity_id uuid,
    PRIMARY KEY (organisation_id, id),
    -- Once per contract and end date: a contract extended to a later date is signalled again.
    CONSTRAINT renewal_signals_once UNIQUE (organisation_id, contract_id, ends_on),
    CONSTRAINT renewal_signals_contract_fk FOREIGN KEY (organisation_id, contract_id)
        REFERENCES app.contracts (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT renewal_signals_opportunity_fk FOREIGN KEY (organisation_id, opportunity_id)
        REFERENCES app.opportunities (organisation_id, id) ON DELETE SET NULL (opportunity_id)
);
-- The sweep's question across organisations: active contracts by end date.
CREATE INDEX contracts_by_end_date ON app.contracts (end_date) WHERE status = 'active' AND end_date IS NOT NULL;
ALTER TABLE app.renewal_signals ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.renewal_signals FORCE ROW LEVEL SECURITY;
GRANT SELECT ON app.renewal_signals TO engagement_app;
