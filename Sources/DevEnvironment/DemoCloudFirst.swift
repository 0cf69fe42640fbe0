import Foundation
import PostgresClient

/// The CloudFirst example of the customer-success material: one account (CF-ACCOUNT) with three products as
/// children (core platform, security suite, analytics add-on) in 2026, each with a success blueprint applied,
/// touchpoints with open and overdue action items, a running onboarding playbook on the security suite, monthly
/// check-ins, and adoption that is high on the core platform and low on the security suite, which an adoption
/// health model and a rule on DLP usage pick up. The parent's rollup shows the work by type and stage.
///
/// `ownerStatements` join DemoData's owner pipeline (structure, history, adoption); `apply` then creates and
/// applies the blueprints through the API's own functions, as the organisation's admin, so the copying rules
/// are the real ones.
enum DemoCloudFirst {
    static func ownerStatements(organisation org: String) -> [Statement] {
        [
            Statement("""
                INSERT INTO app.parties (organisation_id, kind, name, external_ref)
                VALUES (\(org), 'customer', 'CloudFirst Inc.', 'CUST-CF')
                """),
            // The platform's services contract, which DemoCommercial gives a 0.5 FTE service-manager clause.
            Statement("""
                INSERT INTO app.contracts (organisation_id, customer_party_id, reference, title, contract_type, total_value, currency, start_date, end_date, status)
                SELECT \(org), id, 'CF-2026-001', 'CloudFirst platform services 2026', 'retainer', 240000.00, 'EUR', '2026-01-01', '2026-12-31', 'active'
                FROM app.parties WHERE organisation_id = \(org) AND external_ref = 'CUST-CF'
                """),
            Statement("""
                INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, template_id, code, name, start_date, end_date)
                SELECT \(org), s.id, c.id, t.id, e.code, e.name, '2026-01-01', '2026-12-31'
                FROM (VALUES ('CF-ACCOUNT', 'CloudFirst account 2026'), ('CF-CORE', 'CloudFirst core platform'),
                             ('CF-SECURITY', 'CloudFirst security suite'), ('CF-ANALYTICS', 'CloudFirst analytics add-on'))
                         AS e(code, name)
                JOIN app.services s ON s.organisation_id = \(org) AND s.code = 'MITS'
                JOIN app.parties c ON c.organisation_id = \(org) AND c.external_ref = 'CUST-CF'
                JOIN app.engagement_templates t ON t.organisation_id = \(org) AND t.service_id = s.id
                """),
            Statement("""
                UPDATE app.engagements e SET contract_id = k.id FROM app.contracts k
                WHERE e.organisation_id = \(org) AND e.code = 'CF-CORE' AND k.organisation_id = \(org) AND k.reference = 'CF-2026-001'
                """),
            Statement("""
                UPDATE app.engagements c SET parent_id = p.id FROM app.engagements p
                WHERE c.organisation_id = \(org) AND p.organisation_id = \(org) AND p.code = 'CF-ACCOUNT'
                  AND c.code IN ('CF-CORE', 'CF-SECURITY', 'CF-ANALYTICS')
                """),
            Statement("UPDATE app.engagements SET status = 'active' WHERE organisation_id = \(org) AND code LIKE 'CF-%'"),
            Statement("""
                UPDATE app.engagements e SET journey_stage = s.stage
                FROM (VALUES ('CF-CORE', 'adoption'), ('CF-ANALYTICS', 'expansion'), ('CF-ACCOUNT', 'monitoring')) AS s(code, stage)
                WHERE e.organisation_id = \(org) AND e.code = s.code
                """),
            // The security suite stays in onboarding (the default stage), scored on KPIs 60 %, product usage 30 % and
            // licences 10 %.
            Statement("""
                INSERT INTO app.health_models (organisation_id, name, metrics)
                VALUES (\(org), 'Onboarding adoption',
                        '[{"metric": "kpi_attainment", "weight": 60}, {"metric": "adoption_score", "weight": 30},
                          {"metric": "licence_utilisation", "weight": 10}]')
                """),
            Statement("""
                INSERT INTO app.stage_health_models (organisation_id, journey_stage, model_id)
                SELECT \(org), 'onboarding', m.id FROM app.health_models m
                WHERE m.organisation_id = \(org) AND m.name = 'Onboarding adoption'
                """),
            Statement("""
                INSERT INTO app.risk_rules (organisation_id, name, condition, product, capability, comparison, threshold, title, category, probability, impact)
                VALUES (\(org), 'Low DLP adoption', 'capability_usage', 'Security Suite', 'DLP', '<', 40,
                        'Data loss prevention is barely used', 'adoption', 'medium', 'high')
                """),
            Statement("""
                INSERT INTO app.products (organisation_id, name, description)
                VALUES (\(org), 'Analytics Add-on', 'Dashboards and exports on top of the platform')
                """),
            Statement("""
                INSERT INTO app.capabilities (organisation_id, product_id, name, usage_target)
                SELECT \(org), p.id, c.name, c.target FROM app.products p
                JOIN (VALUES ('Dashboards', 100), ('Exports', 40)) AS c(name, target) ON true
                WHERE p.organisation_id = \(org) AND p.name = 'Analytics Add-on'
                """),
            // Three months of check-ins (KPIs, and the fee below) and adoption per product.
            Statement("""
                INSERT INTO app.check_ins (organisation_id, engagement_id, period, notes)
                SELECT \(org), e.id, m::date, 'Monthly review ' || to_char(m, 'Mon YYYY')
                FROM app.engagements e, generate_series('2026-09-01'::date, '2026-11-01'::date, interval '1 month') m
                WHERE e.organisation_id = \(org) AND e.code IN ('CF-CORE', 'CF-SECURITY', 'CF-ANALYTICS')
                """),
            Statement("""
                INSERT INTO app.kpi_values (organisation_id, check_in_id, kpi_id, engagement_id, actual)
                SELECT \(org), c.id, k.id, c.engagement_id,
                       CASE k.name WHEN 'Availability' THEN 99.95 WHEN 'First response' THEN 12 ELSE 8.4 END
                FROM app.check_ins c
                JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
                JOIN app.engagement_kpis k ON k.organisation_id = c.organisation_id AND k.engagement_id = c.engagement_id
                WHERE c.organisation_id = \(org) AND e.code LIKE 'CF-%'
                """),
            // The core platform's service manager: 84, 62 and 81 hours against 80 planned.
            Statement("""
                INSERT INTO app.capacity_entries (organisation_id, check_in_id, line_no, engagement_id, role, planned_hours, actual_hours)
                SELECT \(org), c.id, 1, c.engagement_id, 'Service manager', 80, h.actual
                FROM app.check_ins c
                JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id AND e.code = 'CF-CORE'
                JOIN (VALUES ('2026-09-01'::date, 84), ('2026-10-01', 62), ('2026-11-01', 81)) AS h(period, actual) ON h.period = c.period
                WHERE c.organisation_id = \(org)
                """),
            // Each product's monthly fee as planned and as invoiced (revenue only: costs would move the health
            // scores the demo shows).
            Statement("""
                INSERT INTO app.finance_lines (organisation_id, check_in_id, line_no, engagement_id, category, label, plan, actual, currency)
                SELECT \(org), c.id, 1, c.engagement_id, 'revenue', 'Monthly fee', f.plan, f.plan - f.credit * (extract(month FROM c.period) - 8), 'EUR'
                FROM app.check_ins c
                JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
                JOIN (VALUES ('CF-CORE', 20000, 0), ('CF-SECURITY', 9000, 750), ('CF-ANALYTICS', 4000, 0)) AS f(code, plan, credit)
                     ON f.code = e.code
                WHERE c.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.adoption_months (organisation_id, engagement_id, product_id, period, licences_purchased, licences_active)
                SELECT \(org), e.id, p.id, m::date, a.purchased, a.active + a.growth * (extract(month FROM m)::integer - 9)
                FROM app.engagements e
                JOIN (VALUES ('CF-CORE', 'Core Platform', 120, 104, 4), ('CF-SECURITY', 'Security Suite', 300, 42, 6),
                             ('CF-ANALYTICS', 'Analytics Add-on', 40, 22, 3))
                     AS a(code, product, purchased, active, growth) ON a.code = e.code
                JOIN app.products p ON p.organisation_id = e.organisation_id AND p.name = a.product,
                     generate_series('2026-09-01'::date, '2026-11-01'::date, interval '1 month') m
                WHERE e.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.capability_usage (organisation_id, adoption_month_id, capability_id, usage_count)
                SELECT \(org), m.id, c.id, u.usage FROM app.adoption_months m
                JOIN app.engagements e ON e.organisation_id = m.organisation_id AND e.id = m.engagement_id
                JOIN app.capabilities c ON c.organisation_id = m.organisation_id AND c.product_id = m.product_id
                JOIN (VALUES ('CF-CORE', 'Monitoring', 490), ('CF-CORE', 'Backups', 30), ('CF-SECURITY', 'SSO', 60),
                             ('CF-SECURITY', 'Audit', 12), ('CF-SECURITY', 'DLP', 2), ('CF-ANALYTICS', 'Dashboards', 70),
                             ('CF-ANALYTICS', 'Exports', 15)) AS u(code, name, usage) ON u.code = e.code AND u.name = c.name
                WHERE m.organisation_id = \(org)
                """),
            // A review per product: one action item done, one open, one overdue; and the next review scheduled.
            Statement("""
                INSERT INTO app.touchpoints (organisation_id, engagement_id, kind, title, held_at, attendees, notes)
                SELECT \(org), e.id, t.kind, t.title, t.held::timestamptz,
                       '[{"name": "Sam Rivera", "email": "sam@cloudfirst.example"}]', t.notes
                FROM app.engagements e
                JOIN (VALUES ('CF-CORE', 'qbr', 'CloudFirst platform QBR', '2026-10-08 15:00+00', 'Stable; capacity for Q1'),
                             ('CF-SECURITY', 'health_check', 'Security suite health check', '2026-10-20 10:00+00', 'DLP not rolled out'),
                             ('CF-ANALYTICS', 'meeting', 'Analytics expansion call', '2026-11-05 16:00+00', 'Wants exports for finance'))
                     AS t(code, kind, title, held, notes) ON t.code = e.code
                WHERE e.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.action_items (organisation_id, touchpoint_id, title, due_date, done_at, owner_user_id)
                SELECT \(org), t.id, a.title, a.due::date, a.done::timestamptz,
                       (SELECT u.id FROM app.users u WHERE u.organisation_id = \(org) AND u.role = 'admin' ORDER BY u.created_at LIMIT 1)
                FROM app.touchpoints t
                JOIN (VALUES ('CloudFirst platform QBR', 'Share the Q1 capacity plan', '2026-10-15', '2026-10-14 09:00+00'),
                             ('Security suite health check', 'Run the DLP rollout workshop', '2026-11-01', NULL),
                             ('Security suite health check', 'Enable SSO for the finance team', '2026-12-18', NULL),
                             ('Analytics expansion call', 'Send the exports proposal', '2026-11-20', NULL))
                     AS a(touchpoint, title, due, done) ON a.touchpoint = t.title
                WHERE t.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.touchpoints (organisation_id, engagement_id, kind, title, scheduled_at)
                SELECT \(org), e.id, 'qbr', 'CloudFirst account review', '2026-12-16 14:00+00'
                FROM app.engagements e WHERE e.organisation_id = \(org) AND e.code = 'CF-ACCOUNT'
                """),
            // The onboarding playbook runs on the security suite: kick-off done, training under way.
            Statement("""
                INSERT INTO app.playbook_runs (organisation_id, playbook_id, engagement_id)
                SELECT \(org), b.id, e.id FROM app.playbooks b, app.engagements e
                WHERE b.organisation_id = \(org) AND b.name = 'Onboarding' AND e.organisation_id = \(org) AND e.code = 'CF-SECURITY'
                """),
            Statement("""
                INSERT INTO app.playbook_tasks (organisation_id, run_id, position, title, owner_role, due_date, status, done_at)
                SELECT \(org), r.id, s.n - 1, s.step ->> 'title', s.step ->> 'owner_role',
                       '2026-10-01'::date + (s.step ->> 'due_offset_days')::integer,
                       (ARRAY['done', 'doing', 'todo'])[s.n], CASE WHEN s.n = 1 THEN '2026-10-03 12:00+00'::timestamptz END
                FROM app.playbook_runs r
                JOIN app.engagements e ON e.organisation_id = r.organisation_id AND e.id = r.engagement_id
                JOIN app.playbooks b ON b.organisation_id = r.organisation_id AND b.id = r.playbook_id
                CROSS JOIN LATERAL jsonb_array_elements(b.steps) WITH ORDINALITY AS s(step, n)
                WHERE r.organisation_id = \(org) AND e.code = 'CF-SECURITY'
                """),
        ]
    }

    /// One blueprint per product, applied to its CloudFirst engagement, and where the work stands.
    static func apply(application: PostgresConnection, keyID: String) throws(PostgresError) {
        func product(_ name: String) -> String {
            "(SELECT id FROM app.products WHERE name = '\(name)')"
        }
        func call(_ function: String, _ json: String) -> Statement {
            Statement("SELECT api.\(function)(\(json))")
        }
        func applied(_ blueprint: String, _ code: String) -> Statement {
            call("blueprint_apply", """
                jsonb_build_object('blueprint_id', (SELECT id FROM app.blueprints WHERE name = '\(blueprint)'),
                                   'engagement_id', (SELECT id FROM app.engagements WHERE code = '\(code)'))
                """)
        }
        _ = try application.pipeline([
            Statement("SELECT app.begin_call($1, 'demo.seed')", [keyID]),
            call("blueprint_create", """
                jsonb_build_object('name', 'Core platform success', 'product_id', \(product("Core Platform")), 'objectives', '[
                    {"title": "Stable, monitored platform", "mandatory": true, "target_offset_days": 120,
                     "outcomes": [{"title": "Availability", "kpi": "Availability", "target": 99.9, "unit": "%", "mandatory": true}],
                     "initiatives": [{"title": "Monitoring baseline", "type": "onboarding", "due_offset_days": 30, "mandatory": true},
                                     {"title": "Backup restore drill", "type": "enablement", "due_offset_days": 200}]}]'::jsonb)
                """),
            call("blueprint_create", """
                jsonb_build_object('name', 'Security suite rollout', 'product_id', \(product("Security Suite")), 'objectives', '[
                    {"title": "Every user behind SSO", "mandatory": true, "target_offset_days": 330,
                     "outcomes": [{"title": "SSO adoption", "target": 80, "unit": "%"}],
                     "initiatives": [{"title": "SSO for all departments", "type": "onboarding", "due_offset_days": 300, "mandatory": true},
                                     {"title": "Admin training", "type": "enablement", "due_offset_days": 320}]},
                    {"title": "Data loss prevention live", "target_offset_days": 340,
                     "initiatives": [{"title": "DLP policy workshop", "type": "adoption", "due_offset_days": 305},
                                     {"title": "DLP remediation plan", "type": "remediation", "due_offset_days": 345}]}]'::jsonb)
                """),
            call("blueprint_create", """
                jsonb_build_object('name', 'Analytics adoption', 'product_id', \(product("Analytics Add-on")), 'objectives', '[
                    {"title": "Finance runs on dashboards", "target_offset_days": 364,
                     "outcomes": [{"title": "Customer satisfaction", "kpi": "Customer satisfaction", "target": 8}],
                     "initiatives": [{"title": "Dashboard training", "type": "enablement", "due_offset_days": 290},
                                     {"title": "Exports for finance", "type": "expansion", "due_offset_days": 360}]}]'::jsonb)
                """),
            applied("Core platform success", "CF-CORE"),
            applied("Security suite rollout", "CF-SECURITY"),
            applied("Analytics adoption", "CF-ANALYTICS"),
            // Where the work stands: written as psql would, under the same rules.
            Statement("""
                UPDATE app.initiatives i SET stage = s.stage
                FROM (VALUES ('Monitoring baseline', 'done'), ('Backup restore drill', 'in_progress'),
                             ('SSO for all departments', 'in_progress'), ('DLP policy workshop', 'planned'),
                             ('Dashboard training', 'done'), ('Exports for finance', 'in_progress')) AS s(title, stage)
                WHERE i.title = s.title
                """),
            Statement("""
                UPDATE app.objectives o SET status = s.status
                FROM (VALUES ('Stable, monitored platform', 'achieved'), ('Every user behind SSO', 'at_risk'),
                             ('Data loss prevention live', 'at_risk'), ('Finance runs on dashboards', 'on_track')) AS s(title, status)
                WHERE o.title = s.title
                """),
            Statement("UPDATE app.outcomes SET actual = 20 WHERE title = 'SSO adoption'"),
        ])
    }
}
