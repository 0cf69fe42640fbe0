-- Current definitions (first made by migration 0021_reporting_tracking). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- Reporting views over tracking: check-ins and their revisions, finance plan/actual with variance, KPIs against
-- target, capacity, showback by delivery party, health (history and current) and risk signals.
-- As in 0008_reporting.sql, the views run as their owner (who bypasses row-level security), so each one filters explicitly by
-- the tenant of the login; security_barrier keeps a DBA's own predicates from running before that filter.
-- Functions in a view run with the DBA's privileges, so these views call none that reads tables: attribution is
-- joined from app.check_in_attribution (the rule app.attributed_party reads too), and the current, decayed health
-- score comes with the rollups.
CREATE OR REPLACE VIEW reporting.kpis WITH (security_barrier) AS
SELECT k.id, k.engagement_id, e.code AS engagement_code, k.name, k.unit, k.target, k.direction,
       k.deliverer_party_id AS owner_party_id, p.name AS owner_party_name, k.source, k.created_at, k.updated_at
FROM app.engagement_kpis k
JOIN app.engagements e ON e.organisation_id = k.organisation_id AND e.id = k.engagement_id
LEFT JOIN app.parties p ON p.organisation_id = k.organisation_id AND p.id = k.deliverer_party_id
WHERE k.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.kpis TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.check_ins WITH (security_barrier) AS
SELECT c.id, c.engagement_id, e.code AS engagement_code, c.period, c.is_final, c.notes, c.version AS revision,
       (SELECT count(*) FROM app.finance_lines f WHERE f.organisation_id = c.organisation_id AND f.check_in_id = c.id) AS finance_lines,
       (SELECT count(*) FROM app.kpi_values v WHERE v.organisation_id = c.organisation_id AND v.check_in_id = c.id) AS kpi_values,
       (SELECT count(*) FROM app.capacity_entries x WHERE x.organisation_id = c.organisation_id AND x.check_in_id = c.id) AS capacity_entries,
       c.created_at, c.created_by, c.updated_at, c.updated_by
FROM app.check_ins c
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
WHERE c.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.check_ins TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.check_in_revisions WITH (security_barrier) AS
SELECT r.check_in_id, c.engagement_id, e.code AS engagement_code, c.period, r.revision, r.written_by,
       u.email AS written_by_email, r.written_at, r.method, r.reason, r.changes, r.content
FROM app.check_in_revisions r
JOIN app.check_ins c ON c.organisation_id = r.organisation_id AND c.id = r.check_in_id
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
LEFT JOIN app.users u ON u.organisation_id = r.organisation_id AND u.id = r.written_by
WHERE r.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.check_in_revisions TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.finance WITH (security_barrier) AS
SELECT c.engagement_id, e.code AS engagement_code, c.period, f.line_no, f.category, f.label, f.currency,
       f.plan, f.actual, f.actual - f.plan AS variance,
       round((f.actual - f.plan) / nullif(f.plan, 0) * 100, 2) AS variance_percent,
       f.deliverer_party_id, a.party_id AS attributed_party_id, p.name AS attributed_party_name, c.id AS check_in_id
FROM app.finance_lines f
JOIN app.check_ins c ON c.organisation_id = f.organisation_id AND c.id = f.check_in_id
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
LEFT JOIN app.check_in_attribution ca ON ca.organisation_id = c.organisation_id AND ca.check_in_id = c.id
CROSS JOIN LATERAL (SELECT coalesce(f.deliverer_party_id, ca.party_id) AS party_id) a
LEFT JOIN app.parties p ON p.organisation_id = c.organisation_id AND p.id = a.party_id
WHERE f.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.finance TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.kpi_actuals WITH (security_barrier) AS
SELECT c.engagement_id, e.code AS engagement_code, c.period, k.id AS kpi_id, k.name AS kpi, k.unit, k.target,
       k.direction, v.actual,
       round(app.kpi_attainment(k.target, k.direction, v.actual), 2) AS attainment_percent,
       CASE WHEN k.direction = 'higher_is_better' THEN v.actual >= k.target ELSE v.actual <= k.target END AS met,
       a.party_id AS attributed_party_id, p.name AS attributed_party_name, c.id AS check_in_id
FROM app.kpi_values v
JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.id = v.kpi_id
JOIN app.check_ins c ON c.organisation_id = v.organisation_id AND c.id = v.check_in_id
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
LEFT JOIN app.check_in_attribution ca ON ca.organisation_id = c.organisation_id AND ca.check_in_id = c.id
CROSS JOIN LATERAL (SELECT coalesce(v.deliverer_party_id, k.deliverer_party_id, ca.party_id) AS party_id) a
LEFT JOIN app.parties p ON p.organisation_id = c.organisation_id AND p.id = a.party_id
WHERE v.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.kpi_actuals TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.capacity WITH (security_barrier) AS
SELECT c.engagement_id, e.code AS engagement_code, c.period, x.role, x.person, x.planned_hours, x.actual_hours,
       x.actual_hours - x.planned_hours AS variance_hours,
       round(x.actual_hours / nullif(x.planned_hours, 0) * 100, 2) AS utilisation_percent,
       a.party_id AS attributed_party_id, p.name AS attributed_party_name, c.id AS check_in_id
FROM app.capacity_entries x
JOIN app.check_ins c ON c.organisation_id = x.organisation_id AND c.id = x.check_in_id
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
LEFT JOIN app.check_in_attribution ca ON ca.organisation_id = c.organisation_id AND ca.check_in_id = c.id
CROSS JOIN LATERAL (SELECT coalesce(x.deliverer_party_id, ca.party_id) AS party_id) a
LEFT JOIN app.parties p ON p.organisation_id = c.organisation_id AND p.id = a.party_id
WHERE x.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.capacity TO engagement_reporting;

-- Showback in two views so nothing is counted twice: money per currency, and hours with KPIs owned.
CREATE OR REPLACE VIEW reporting.showback WITH (security_barrier) AS
SELECT f.attributed_party_id AS party_id, f.attributed_party_name AS party_name, f.engagement_id, f.engagement_code,
       f.period, f.currency,
       sum(f.plan) FILTER (WHERE f.category <> 'revenue') AS cost_plan,
       sum(f.actual) FILTER (WHERE f.category <> 'revenue') AS cost_actual,
       sum(f.plan) FILTER (WHERE f.category = 'revenue') AS revenue_plan,
       sum(f.actual) FILTER (WHERE f.category = 'revenue') AS revenue_actual
FROM reporting.finance f
GROUP BY 1, 2, 3, 4, 5, 6;
GRANT SELECT ON reporting.showback TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.showback_hours WITH (security_barrier) AS
SELECT coalesce(h.party_id, k.party_id) AS party_id, coalesce(h.party_name, k.party_name) AS party_name,
       coalesce(h.engagement_id, k.engagement_id) AS engagement_id, coalesce(h.engagement_code, k.engagement_code) AS engagement_code,
       coalesce(h.period, k.period) AS period, h.planned_hours, h.actual_hours, coalesce(k.kpis_owned, 0) AS kpis_owned,
       k.kpi_names
FROM (SELECT attributed_party_id AS party_id, attributed_party_name AS party_name, engagement_id, engagement_code, period,
             sum(planned_hours) AS planned_hours, sum(actual_hours) AS actual_hours
      FROM reporting.capacity GROUP BY 1, 2, 3, 4, 5) h
FULL JOIN (SELECT attributed_party_id AS party_id, attributed_party_name AS party_name, engagement_id, engagement_code,
                  period, count(*) AS kpis_owned, array_agg(kpi ORDER BY kpi) AS kpi_names
           FROM reporting.kpi_actuals GROUP BY 1, 2, 3, 4, 5) k
    ON k.party_id = h.party_id AND k.engagement_id = h.engagement_id AND k.period = h.period;
GRANT SELECT ON reporting.showback_hours TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.health_history WITH (security_barrier) AS
SELECT s.engagement_id, e.code AS engagement_code, s.period, s.score, s.band, s.model_id, m.name AS model_name,
       s.metrics, s.computed_at
FROM app.health_scores s
JOIN app.engagements e ON e.organisation_id = s.organisation_id AND e.id = s.engagement_id
JOIN app.health_models m ON m.organisation_id = s.organisation_id AND m.id = s.model_id
WHERE s.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.health_history TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.risk_signals WITH (security_barrier) AS
SELECT s.id, s.engagement_id, e.code AS engagement_code, s.title, s.description, s.category, s.probability,
       s.impact, s.severity, s.severity_score, s.status, s.owner_user_id, u.email AS owner_email, s.due_date,
       s.value_at_risk, s.currency, s.source, s.rule_id, r.name AS rule_name, s.resolution, s.resolved_at,
       s.created_at, s.updated_at
FROM app.risk_signals s
JOIN app.engagements e ON e.organisation_id = s.organisation_id AND e.id = s.engagement_id
LEFT JOIN app.users u ON u.organisation_id = s.organisation_id AND u.id = s.owner_user_id
LEFT JOIN app.risk_rules r ON r.organisation_id = s.organisation_id AND r.id = s.rule_id
WHERE s.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.risk_signals TO engagement_reporting;
