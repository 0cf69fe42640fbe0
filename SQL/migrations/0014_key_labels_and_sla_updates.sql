-- Admins relabel API keys; managers change SLA terms in place.
GRANT UPDATE (label) ON app.api_keys TO engagement_app;
GRANT UPDATE (metric, target, comparison, measurement_period, penalty, exclusions) ON app.contract_sla_terms TO engagement_app;
