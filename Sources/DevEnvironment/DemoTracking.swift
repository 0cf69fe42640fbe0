import PostgresClient

/// A year (2025) of monthly check-ins for three engagements with deliberately different fortunes, so the health
/// scores span the bands and the threshold rules raise risks:
/// - KEY-MITS-2025 runs to plan (green), part of it delivered by a partner (attributed per item and period);
/// - KEY-SECURITY drifts: costs creep over plan and KPIs slip month by month (green to amber);
/// - NW-MITS-2025 struggles all year (red), then goes on hold, where its decay pauses.
/// The rules exist before the check-ins, so they fire as the data arrives (at commit, like any write), and so
/// does the automated trigger that starts the remediation playbook when a health band turns red (NW-MITS-2025's
/// January): the server's trigger worker performs it once it runs.
enum DemoTracking {
    /// Statements of the demo pipeline; `org` is the SQL expression of the organisation's id.
    static func statements(organisation org: String) -> [Statement] {
        [
            Statement("""
                INSERT INTO app.playbooks (organisation_id, name, description, steps)
                VALUES (\(org), 'Remediation', 'Get a red engagement back on track',
                        '[{"title": "Root-cause review with the delivery lead", "owner_role": "manager", "due_offset_days": 2},
                          {"title": "Recovery plan agreed with the customer", "owner_role": "manager", "due_offset_days": 7},
                          {"title": "Weekly recovery check-in", "owner_role": "member", "due_offset_days": 14}]')
                """),
            Statement("""
                INSERT INTO app.trigger_rules (organisation_id, name, event, event_params, actions)
                SELECT \(org), 'Red health starts remediation', 'health_band', '{"band": "red"}',
                       jsonb_build_array(jsonb_build_object('action', 'start_playbook', 'playbook_id', p.id),
                                         jsonb_build_object('action', 'notify', 'message', 'health turned red: remediation started'))
                FROM app.playbooks p WHERE p.organisation_id = \(org) AND p.name = 'Remediation'
                """),
            Statement("""
                INSERT INTO app.risk_rules (organisation_id, name, condition, kpi, comparison, threshold, band, title, category, probability, impact)
                VALUES (\(org), 'Unhappy customer', 'kpi', 'Customer satisfaction', '<=', 6, NULL,
                        'Customer satisfaction at or below 6', 'relationship', 'high', 'high'),
                       (\(org), 'Health turned red', 'health_band', NULL, NULL, NULL, 'red',
                        'Engagement health is red', 'delivery', 'very_high', 'high'),
                       (\(org), 'Cost overrun', 'finance_variance', NULL, '>', 15, NULL,
                        'Actual cost more than 15 % over plan', 'financial', 'high', 'medium')
                """),
            // Per engagement: base cost overrun, its monthly drift, availability, first response, satisfaction and
            // their monthly drift, and the capacity used against plan.
            Statement("""
                CREATE TEMPORARY TABLE demo_profile ON COMMIT DROP AS
                SELECT * FROM (VALUES
                    ('KEY-MITS-2025', 0.00, 0.000, 99.95, 12.0, 8.6, 0.00, 0.98),
                    ('KEY-SECURITY',  0.05, 0.010, 99.90, 14.0, 8.0, 0.15, 1.00),
                    ('NW-MITS-2025',  0.25, 0.010, 99.00, 35.0, 5.5, 0.00, 1.30))
                    AS p(code, overrun, drift, availability, response, satisfaction, slip, utilisation)
                """),
            Statement("""
                INSERT INTO app.check_ins (organisation_id, engagement_id, period, notes)
                SELECT \(org), e.id, m::date, 'Monthly review ' || to_char(m, 'Mon YYYY')
                FROM app.engagements e JOIN demo_profile p ON p.code = e.code,
                     generate_series('2025-01-01'::date, '2025-12-01'::date, interval '1 month') m
                WHERE e.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.finance_lines (organisation_id, check_in_id, line_no, engagement_id, category, label, plan, actual, currency)
                SELECT \(org), c.id, l.line_no, c.engagement_id, l.category, l.label, l.plan,
                       round(l.plan * CASE WHEN l.category = 'revenue' THEN 1
                                           ELSE 1 + p.overrun + p.drift * extract(month FROM c.period) END, 2), 'EUR'
                FROM app.check_ins c
                JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
                JOIN demo_profile p ON p.code = e.code,
                     (VALUES (1, 'revenue', 'Monthly fee', 40000.00), (2, 'labour_cost', 'Delivery team', 26000.00),
                             (3, 'licences', 'Monitoring platform', 3000.00)) AS l(line_no, category, label, plan)
                WHERE c.organisation_id = \(org)
                """),
            Statement("""
                INSERT INTO app.kpi_values (organisation_id, check_in_id, kpi_id, engagement_id, actual)
                SELECT \(org), c.id, k.id, c.engagement_id,
                       round(CASE k.name
                           WHEN 'Availability' THEN p.availability - p.slip / 3 * extract(month FROM c.period)
                           WHEN 'First response' THEN p.response + p.slip * 8 * extract(month FROM c.period)
                           ELSE p.satisfaction - p.slip * extract(month FROM c.period) END, 2)
                FROM app.check_ins c
                JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
                JOIN demo_profile p ON p.code = e.code
                JOIN app.engagement_kpis k ON k.organisation_id = c.organisation_id AND k.engagement_id = c.engagement_id
                WHERE c.organisation_id = \(org)
                """),
            // The partner staffs the service desk of the key account: its lines name the partner.
            Statement("""
                INSERT INTO app.capacity_entries (organisation_id, check_in_id, line_no, engagement_id, role, planned_hours, actual_hours, deliverer_party_id)
                SELECT \(org), c.id, r.line_no, c.engagement_id, r.role, r.planned, round(r.planned * p.utilisation, 2),
                       CASE WHEN e.code = 'KEY-MITS-2025' AND r.role = 'Service desk analyst' THEN partner.party_id END
                FROM app.check_ins c
                JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
                JOIN demo_profile p ON p.code = e.code
                LEFT JOIN app.engagement_deliverers partner ON partner.organisation_id = c.organisation_id
                     AND partner.engagement_id = c.engagement_id AND partner.role = 'subcontractor',
                     (VALUES (1, 'Service desk analyst', 320.00), (2, 'Senior engineer', 80.00)) AS r(line_no, role, planned)
                WHERE c.organisation_id = \(org)
                """),
            // From October the partner is credited with the whole key-account engagement.
            Statement("""
                INSERT INTO app.attribution_periods (organisation_id, engagement_id, party_id, from_period)
                SELECT \(org), d.engagement_id, d.party_id, '2025-10-01' FROM app.engagement_deliverers d
                JOIN app.engagements e ON e.organisation_id = d.organisation_id AND e.id = d.engagement_id
                WHERE d.organisation_id = \(org) AND e.code = 'KEY-MITS-2025' AND d.role = 'subcontractor'
                """),
            Statement("""
                INSERT INTO app.risk_signals (organisation_id, engagement_id, title, description, category, probability, impact, value_at_risk, currency, due_date)
                SELECT \(org), e.id, 'Security lead leaving in Q1', 'Handover plan needed; the customer asked for continuity.',
                       'resourcing', 'medium', 'high', 120000.00, 'EUR', '2026-01-31'
                FROM app.engagements e WHERE e.organisation_id = \(org) AND e.code = 'KEY-SECURITY'
                """),
        ]
    }
}
