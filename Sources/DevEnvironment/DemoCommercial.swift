import Foundation
import PostgresClient

/// The commercial side of the demo, on the CloudFirst account: a pipeline with an opportunity won with its
/// contract, which created its engagement (CF-MIGRATION) in one `opportunity.win`; one still open in partnering;
/// one lost with its reason; and on the platform's contract a 0.5 FTE clause delivered in some months and not
/// others, deliverable commitments met by a project's deliverables, an availability SLA breached once (its
/// credit computed and capped), and the renewal of that contract due. Made through the API's own functions as the organisation's admin, so the closed-won
/// rules and the stage history are the real ones.
enum DemoCommercial {
    static func apply(application: PostgresConnection, keyID: String) throws(PostgresError) {
        func call(_ function: String, _ json: String) -> Statement {
            Statement("SELECT api.\(function)(\(json))")
        }
        let customer = "(SELECT id FROM app.parties WHERE external_ref = 'CUST-CF')"
        func opportunity(_ title: String) -> String { "(SELECT id FROM app.opportunities WHERE title = '\(title)')" }
        func contract(_ reference: String) -> String { "(SELECT id FROM app.contracts WHERE reference = '\(reference)')" }
        func engagement(_ code: String) -> String { "(SELECT id FROM app.engagements WHERE code = '\(code)')" }
        _ = try application.pipeline([
            Statement("SELECT app.begin_call($1, 'demo.seed')", [keyID]),
            call("contract_create", """
                jsonb_build_object('customer_party_id', \(customer), 'reference', 'CF-2027-001', 'title', 'Data platform migration',
                                   'contract_type', 'fixed_fee', 'total_value', 180000, 'currency', 'EUR',
                                   'start_date', '2027-01-01', 'end_date', '2027-06-30', 'status', 'active')
                """),
            call("opportunity_create", """
                jsonb_build_object('customer_party_id', \(customer), 'title', 'CloudFirst data platform migration',
                                   'value', 180000, 'currency', 'EUR', 'expected_close_date', '2026-11-30', 'stage', 'qualifying')
                """),
            call("opportunity_move", """
                jsonb_build_object('id', \(opportunity("CloudFirst data platform migration")), 'version', 1, 'stage', 'prospecting',
                                   'reason', 'Scoping workshop held')
                """),
            call("opportunity_move", """
                jsonb_build_object('id', \(opportunity("CloudFirst data platform migration")), 'version', 2, 'stage', 'partnering',
                                   'reason', 'Partner for the data tooling agreed')
                """),
            call("opportunity_win", """
                jsonb_build_object('id', \(opportunity("CloudFirst data platform migration")), 'version', 3,
                                   'contract_id', \(contract("CF-2027-001")),
                                   'reason', 'Signed', 'engagement', jsonb_build_object(
                                       'code', 'CF-MIGRATION', 'name', 'CloudFirst data platform migration 2027',
                                       'template_id', (SELECT template_id FROM app.engagements WHERE code = 'CF-CORE')))
                """),
            call("opportunity_create", """
                jsonb_build_object('customer_party_id', \(customer), 'title', 'CloudFirst managed SOC',
                                   'value', 250000, 'currency', 'EUR', 'expected_close_date', '2027-02-28', 'stage', 'partnering')
                """),
            call("opportunity_create", """
                jsonb_build_object('customer_party_id', \(customer), 'title', 'CloudFirst on-site support',
                                   'value', 40000, 'currency', 'EUR', 'expected_close_date', '2026-10-31')
                """),
            call("opportunity_move", """
                jsonb_build_object('id', \(opportunity("CloudFirst on-site support")), 'version', 1, 'stage', 'closed_lost',
                                   'reason', 'Went with a local provider')
                """),
            // Did we deliver? Half a service manager on the platform from September: delivered in September and
            // November, not in October; a runbook accepted on time and a DR test report still in progress.
            call("commitment_create", """
                jsonb_build_object('contract_id', \(contract("CF-2026-001")), 'kind', 'fte', 'title', 'Half a service manager',
                                   'fte', 0.5, 'role', 'Service manager', 'start_date', '2026-09-01')
                """),
            call("commitment_create", """
                jsonb_build_object('contract_id', \(contract("CF-2026-001")), 'kind', 'deliverable', 'title', 'Backup runbook',
                                   'due_date', '2026-10-31')
                """),
            call("commitment_create", """
                jsonb_build_object('contract_id', \(contract("CF-2026-001")), 'kind', 'deliverable', 'title', 'Disaster recovery test',
                                   'due_date', '2026-12-15')
                """),
            call("project_create", """
                jsonb_build_object('engagement_id', \(engagement("CF-CORE")), 'name', 'Platform hardening',
                                   'start_date', '2026-09-01', 'end_date', '2026-12-31', 'status', 'active', 'deliverables', jsonb_build_array(
                    jsonb_build_object('title', 'Backup runbook', 'due_date', '2026-10-31', 'status', 'in_progress',
                                       'commitment_id', (SELECT id FROM app.commitments WHERE title = 'Backup runbook')),
                    jsonb_build_object('title', 'DR test report', 'due_date', '2026-12-15', 'status', 'in_progress',
                                       'commitment_id', (SELECT id FROM app.commitments WHERE title = 'Disaster recovery test'))))
                """),
            call("deliverable_update", """
                jsonb_build_object('id', (SELECT id FROM app.deliverables WHERE title = 'Backup runbook'), 'version', 1, 'status', 'submitted')
                """),
            call("deliverable_update", """
                jsonb_build_object('id', (SELECT id FROM app.deliverables WHERE title = 'Backup runbook'), 'version', 2, 'status', 'accepted',
                                   'accepted_at', '2026-10-28T16:00:00Z')
                """),
            // An availability SLA on the platform's contract, breached once: October's storage outage, amended into
            // its check-in, falls in the 25 % tier, capped at 15 % of the month's share of the contract.
            call("contract_add_sla_term", """
                jsonb_build_object('id', \(contract("CF-2026-001")), 'metric', 'Availability', 'target', 99.9, 'comparison', '>=',
                                   'measurement_period', 'monthly', 'exclusions', 'Announced maintenance windows',
                                   'penalty', '{"tiers": [{"threshold": 99.9, "credit_percent": 10}, {"threshold": 99.0, "credit_percent": 25},
                                                          {"threshold": 95.0, "credit_percent": 50}], "cap_percent": 15}'::jsonb)
                """),
            call("sla_add_exclusion", """
                jsonb_build_object('term_id', (SELECT id FROM app.contract_sla_terms WHERE contract_id = \(contract("CF-2026-001"))),
                                   'engagement_id', \(engagement("CF-CORE")), 'starts_at', '2026-09-12T22:00:00Z',
                                   'ends_at', '2026-09-13T02:00:00Z', 'reason', 'Announced storage firmware upgrade')
                """),
            call("checkin_amend", """
                (SELECT jsonb_build_object('id', c.id, 'version', c.version, 'reason', 'Storage outage on 14 October',
                                           'kpis', '[{"kpi": "Availability", "actual": 97.2}]'::jsonb)
                 FROM app.check_ins c WHERE c.engagement_id = \(engagement("CF-CORE")) AND c.period = '2026-10-01')
                """),
            // A renewal due: the platform's contract ends on 31 December; swept as of 1 December with automatic
            // renewal opportunities on, it gets its signal (on the timeline) and its renewal opportunity.
            call("commercial_set_settings", "'{\"auto_renewal_opportunities\": true}'::jsonb"),
            Statement("SELECT app.sweep_renewals('2026-12-01')"),
        ])
    }
}
