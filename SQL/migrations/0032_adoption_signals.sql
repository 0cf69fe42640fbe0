-- Adoption as health-model metrics and risk-rule conditions: rules may observe a product's adoption score,
-- licence utilisation, capability coverage or one capability's usage score (named by `product` and `capability`).
-- Observation and scoring: SQL/definitions/0231_adoption_signals.sql.
ALTER TABLE app.risk_rules DROP CONSTRAINT risk_rules_condition_check;
ALTER TABLE app.risk_rules ADD CONSTRAINT risk_rules_condition_check CHECK (condition IN (
    'kpi', 'health_score', 'health_band', 'finance_variance', 'freshness_days',
    'adoption_score', 'licence_utilisation', 'capability_coverage', 'capability_usage'));
ALTER TABLE app.risk_rules
    ADD COLUMN product text CHECK (length(btrim(product)) BETWEEN 1 AND 200),
    ADD COLUMN capability text CHECK (length(btrim(capability)) BETWEEN 1 AND 200);
GRANT UPDATE (product, capability) ON app.risk_rules TO engagement_app;
