import Foundation
import PostgresClient

/// A little of everything for each demo organisation, so a newcomer sees real data at once: two services in
/// a portfolio, customers and a delivery partner, a template, a contract with rates and an SLA, and
/// engagements in several lifecycle states, three of them children of one key-account parent, and a year of
/// check-ins with health scores and risks (DemoTracking), and the CloudFirst account's customer-success workflow
/// (DemoCloudFirst) with its pipeline (DemoCommercial). Written as the owner, once (when the organisation has
/// no services yet), through the same triggers as API writes: lifecycle rules, history, scores and audit apply.
enum DemoData {
    /// Returns whether it seeded (false: the organisation had its demo data already).
    @discardableResult
    static func seed(owner: PostgresConnection, organisationID: UUID, customerName: String) throws(PostgresError) -> Bool {
        let existing = try owner.query("SELECT count(*) FROM app.services WHERE organisation_id = $1::uuid", [organisationID])
        guard existing.int(0, 0) == 0 else { return false }
        // One pipeline, one transaction: the organisation is a transaction-local setting the statements read.
        let org = "current_setting('demo.organisation')::uuid"
        _ = try owner.pipeline([
            Statement("SELECT set_config('demo.organisation', $1, true)", [organisationID]),
            Statement("""
                INSERT INTO app.services (organisation_id, code, name, description) VALUES
                    (\(org), 'MITS', 'Managed IT Support', '24/7 service desk, monitoring and patching'),
                    (\(org), 'CLOUD', 'Cloud Migration', 'Assessment, migration waves and hypercare')
                """),
            Statement("""
                INSERT INTO app.parties (organisation_id, kind, name, external_ref) VALUES
                    (\(org), 'customer', $1, 'CUST-001'), (\(org), 'customer', 'Northwind Traders', 'CUST-002'),
                    (\(org), 'delivery_partner', 'Contoso Staffing', 'PART-001')
                """, [customerName]),
            Statement("""
                INSERT INTO app.engagement_templates (organisation_id, service_id, name, default_kpis)
                SELECT \(org), id, 'Standard managed service',
                       '[{"name": "Availability", "unit": "%", "target": 99.9, "direction": "higher_is_better"},
                         {"name": "First response", "unit": "minutes", "target": 15, "direction": "lower_is_better"},
                         {"name": "Customer satisfaction", "unit": "score", "target": 8, "direction": "higher_is_better"}]'
                FROM app.services WHERE organisation_id = \(org) AND code = 'MITS'
                """),
            Statement("""
                INSERT INTO app.contracts (organisation_id, customer_party_id, reference, title, contract_type, total_value, currency, start_date, end_date, status)
                SELECT \(org), id, 'C-2025-001', 'Managed services FY2025', 'time_and_materials', 480000.00, 'EUR', '2025-01-01', '2025-12-31', 'active'
                FROM app.parties WHERE organisation_id = \(org) AND external_ref = 'CUST-001'
                """),
            Statement("""
                INSERT INTO app.contract_rates (organisation_id, contract_id, rate_key, rate_per_hour)
                SELECT \(org), id, rate_key, rate FROM app.contracts,
                       (VALUES ('Service desk analyst', 65.00), ('Senior engineer', 140.00)) AS r(rate_key, rate)
                WHERE organisation_id = \(org) AND reference = 'C-2025-001'
                """),
            Statement("""
                INSERT INTO app.contract_sla_terms (organisation_id, contract_id, metric, target, comparison, measurement_period, penalty, exclusions)
                SELECT \(org), id, 'Availability', 99.9, '>=', 'monthly',
                       '{"tiers": [{"threshold": 99.5, "credit_percent": 5}, {"threshold": 99.0, "credit_percent": 10}], "cap_percent": 15}',
                       'Planned maintenance announced 5 days ahead'
                FROM app.contracts WHERE organisation_id = \(org) AND reference = 'C-2025-001'
                """),
            Statement("""
                INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, template_id, contract_id, code, name, start_date, end_date)
                SELECT \(org), s.id, c.id, t.id, k.id, e.code, e.name, e.start_date::date, e.end_date::date
                FROM (VALUES ('MITS', 'CUST-001', true, 'KEY-ACCOUNT', 'Key account programme FY2025', '2025-01-01', '2025-12-31'),
                             ('MITS', 'CUST-001', true, 'KEY-MITS-2025', 'Managed IT Support FY2025', '2025-01-01', '2025-12-31'),
                             ('MITS', 'CUST-001', true, 'KEY-SECURITY', 'Security operations FY2025', '2025-01-01', '2025-12-31'),
                             ('CLOUD', 'CUST-001', false, 'KEY-CLOUD', 'Cloud migration wave 1', '2025-03-01', '2025-09-30'),
                             ('MITS', 'CUST-002', true, 'NW-DESK-PILOT', 'Service desk pilot', '2024-06-01', '2024-12-31'),
                             ('MITS', 'CUST-002', true, 'NW-MITS-2025', 'Managed IT Support 2025', '2025-01-01', '2025-12-31'))
                         AS e(service, customer, contracted, code, name, start_date, end_date)
                JOIN app.services s ON s.organisation_id = \(org) AND s.code = e.service
                JOIN app.parties c ON c.organisation_id = \(org) AND c.external_ref = e.customer
                LEFT JOIN app.engagement_templates t ON t.organisation_id = \(org) AND t.service_id = s.id
                LEFT JOIN app.contracts k ON k.organisation_id = \(org) AND k.customer_party_id = c.id AND e.contracted
                """),
            // One account, three products: the parent is the aggregation point of its children.
            Statement("""
                UPDATE app.engagements c SET parent_id = p.id FROM app.engagements p
                WHERE c.organisation_id = \(org) AND p.organisation_id = \(org) AND p.code = 'KEY-ACCOUNT'
                  AND c.code IN ('KEY-MITS-2025', 'KEY-CLOUD', 'KEY-SECURITY')
                """),
            Statement("SELECT set_config('app.transition_reason', 'demo data', true)"),
            Statement("UPDATE app.engagements SET status = 'active' WHERE organisation_id = \(org) AND code IN ('KEY-ACCOUNT', 'KEY-MITS-2025', 'KEY-SECURITY', 'NW-DESK-PILOT', 'NW-MITS-2025')"),
            Statement("""
                INSERT INTO app.engagement_deliverers (organisation_id, engagement_id, party_id, role)
                SELECT \(org), e.id, p.id, 'subcontractor' FROM app.engagements e, app.parties p
                WHERE e.organisation_id = \(org) AND e.code = 'KEY-MITS-2025' AND p.organisation_id = \(org) AND p.external_ref = 'PART-001'
                """),
        ] + DemoTracking.statements(organisation: org) + [
            Statement("UPDATE app.engagements SET status = 'completed' WHERE organisation_id = \(org) AND code = 'NW-DESK-PILOT'"),
            Statement("UPDATE app.engagements SET status = 'on_hold' WHERE organisation_id = \(org) AND code = 'NW-MITS-2025'"),
            // Journey stages beside the delivery status: the account steady, its products at different stages.
            Statement("SELECT set_config('app.stage_reason', 'demo data', true)"),
            Statement("""
                UPDATE app.engagements e SET journey_stage = s.stage
                FROM (VALUES ('KEY-ACCOUNT', 'monitoring'), ('KEY-MITS-2025', 'adoption'), ('KEY-SECURITY', 'expansion'),
                             ('NW-MITS-2025', 'renewal')) AS s(code, stage)
                WHERE e.organisation_id = \(org) AND e.code = s.code
                """),
            // Touchpoints: a held review with one item done and one overdue, and a missed follow-up.
            Statement("""
                INSERT INTO app.touchpoints (organisation_id, engagement_id, kind, title, held_at, attendees, notes)
                SELECT \(org), e.id, 'qbr', 'Q2 business review', '2025-06-12 14:00+00',
                       '[{"name": "Pat Customer", "email": "pat@customer.example"}]', 'Capacity and the security roadmap'
                FROM app.engagements e WHERE e.organisation_id = \(org) AND e.code = 'KEY-MITS-2025'
                """),
            Statement("""
                INSERT INTO app.action_items (organisation_id, touchpoint_id, title, due_date, done_at, owner_user_id)
                SELECT \(org), t.id, a.title, a.due::date, a.done::timestamptz,
                       (SELECT u.id FROM app.users u WHERE u.organisation_id = \(org) AND u.role = 'admin' ORDER BY u.created_at LIMIT 1)
                FROM app.touchpoints t,
                     (VALUES ('Send the revised capacity plan', '2025-06-20', '2025-06-18 10:00+00'),
                             ('Book the security workshop', '2025-07-01', NULL)) AS a(title, due, done)
                WHERE t.organisation_id = \(org) AND t.title = 'Q2 business review'
                """),
            Statement("""
                INSERT INTO app.touchpoints (organisation_id, engagement_id, kind, title, scheduled_at, follow_up_of)
                SELECT \(org), t.engagement_id, 'meeting', 'Security workshop planning', '2025-07-03 09:00+00', t.id
                FROM app.touchpoints t WHERE t.organisation_id = \(org) AND t.title = 'Q2 business review'
                """),
            // A running onboarding playbook on the security product, its first task done.
            Statement("""
                INSERT INTO app.playbooks (organisation_id, name, description, steps)
                VALUES (\(org), 'Onboarding', 'The first ninety days of a new product',
                        '[{"title": "Kick-off call", "owner_role": "manager", "due_offset_days": 3},
                          {"title": "Admin training", "owner_role": "member", "due_offset_days": 14},
                          {"title": "First value review", "owner_role": "manager", "due_offset_days": 45}]')
                """),
            Statement("""
                INSERT INTO app.playbook_runs (organisation_id, playbook_id, engagement_id)
                SELECT \(org), b.id, e.id FROM app.playbooks b, app.engagements e
                WHERE b.organisation_id = \(org) AND b.name = 'Onboarding' AND e.organisation_id = \(org) AND e.code = 'KEY-SECURITY'
                """),
            Statement("""
                INSERT INTO app.playbook_tasks (organisation_id, run_id, position, title, owner_role, due_date, status, done_at)
                SELECT \(org), r.id, s.n - 1, s.step ->> 'title', s.step ->> 'owner_role',
                       current_date + (s.step ->> 'due_offset_days')::integer,
                       CASE WHEN s.n = 1 THEN 'done' ELSE 'todo' END, CASE WHEN s.n = 1 THEN now() END
                FROM app.playbook_runs r
                JOIN app.playbooks b ON b.organisation_id = r.organisation_id AND b.id = r.playbook_id
                CROSS JOIN LATERAL jsonb_array_elements(b.steps) WITH ORDINALITY AS s(step, n)
                WHERE r.organisation_id = \(org)
                """),
            // Products and their adoption on the key account's products: the security suite's adoption is low.
            Statement("""
                INSERT INTO app.products (organisation_id, name, description)
                VALUES (\(org), 'Core Platform', 'Managed infrastructure'), (\(org), 'Security Suite', 'SSO, audit and DLP')
                """),
            Statement("""
                INSERT INTO app.capabilities (organisation_id, product_id, name, usage_target)
                SELECT \(org), p.id, c.name, c.target FROM app.products p
                JOIN (VALUES ('Core Platform', 'Monitoring', 500), ('Core Platform', 'Backups', 30),
                             ('Security Suite', 'SSO', 200), ('Security Suite', 'Audit', 50), ('Security Suite', 'DLP', 20))
                     AS c(product, name, target) ON c.product = p.name
                WHERE p.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.adoption_months (organisation_id, engagement_id, product_id, period, licences_purchased, licences_active)
                SELECT \(org), e.id, p.id, '2025-06-01', a.purchased, a.active FROM app.engagements e
                JOIN (VALUES ('KEY-MITS-2025', 'Core Platform', 50, 46), ('KEY-SECURITY', 'Security Suite', 200, 38))
                     AS a(code, product, purchased, active) ON a.code = e.code
                JOIN app.products p ON p.organisation_id = e.organisation_id AND p.name = a.product
                WHERE e.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.capability_usage (organisation_id, adoption_month_id, capability_id, usage_count)
                SELECT \(org), m.id, c.id, u.usage FROM app.adoption_months m
                JOIN app.capabilities c ON c.organisation_id = m.organisation_id AND c.product_id = m.product_id
                JOIN (VALUES ('Monitoring', 480), ('Backups', 30), ('SSO', 35), ('Audit', 4)) AS u(name, usage) ON u.name = c.name
                WHERE m.organisation_id = \(org)
                """),
            // Accounts heading into renewal are scored on KPIs and budget alone (a health model per stage).
            Statement("""
                INSERT INTO app.health_models (organisation_id, name, metrics)
                VALUES (\(org), 'Renewal readiness',
                        '[{"metric": "kpi_attainment", "weight": 2}, {"metric": "budget_variance", "weight": 1}]')
                """),
            Statement("""
                INSERT INTO app.stage_health_models (organisation_id, journey_stage, model_id)
                SELECT \(org), 'renewal', m.id FROM app.health_models m
                WHERE m.organisation_id = \(org) AND m.name = 'Renewal readiness'
                """),
            Statement("INSERT INTO app.portfolios (organisation_id, name, description) VALUES (\(org), 'Key Accounts', 'Our largest customers')"),
            Statement("""
                INSERT INTO app.portfolio_services (organisation_id, portfolio_id, service_id)
                SELECT \(org), p.id, s.id FROM app.portfolios p, app.services s
                WHERE p.organisation_id = \(org) AND s.organisation_id = \(org) AND p.name = 'Key Accounts'
                """),
        ] + DemoCloudFirst.ownerStatements(organisation: org) + [
            // The demo's story spans 2025 but its rows were written just now: its timeline is dated as the story
            // is (engagements created two weeks before they start, check-ins and their health two days after the
            // month), so the timeline shows a year of history. Only demo data is ever re-dated.
            Statement("""
                UPDATE app.timeline_entries t SET occurred_at = e.start_date - CASE t.entry_type WHEN 'engagement_created' THEN 14 ELSE 0 END
                FROM app.engagements e
                WHERE t.organisation_id = \(org) AND e.organisation_id = t.organisation_id AND e.id = t.engagement_id
                  AND (t.entry_type = 'engagement_created' OR (t.entry_type = 'status_changed' AND t.details ->> 'to' = 'active'))
                  AND e.start_date IS NOT NULL
                  AND t.occurred_at > e.start_date
                """),
            Statement("""
                UPDATE app.timeline_entries t SET occurred_at = c.period + interval '1 month 2 days'
                FROM app.check_ins c
                WHERE t.organisation_id = \(org) AND t.entry_type = 'check_in' AND c.organisation_id = t.organisation_id AND c.id = t.entity_id
                """),
            Statement("""
                UPDATE app.timeline_entries t SET occurred_at = to_date(t.details ->> 'period', 'YYYY-MM') + interval '1 month 2 days 1 minute'
                WHERE t.organisation_id = \(org) AND t.entry_type = 'health_band'
                """),
        ])
        return true
    }
}
