import Foundation
import PostgresClient

/// The commercial side of the demo, on the CloudFirst account: a pipeline with an opportunity won with its
/// contract, which created its engagement (CF-MIGRATION) in one `opportunity.win`; one still open in partnering;
/// one lost with its reason. Made through the API's own functions as the organisation's admin, so the closed-won
/// rules and the stage history are the real ones.
enum DemoCommercial {
    static func apply(application: PostgresConnection, keyID: String) throws(PostgresError) {
        func call(_ function: String, _ json: String) -> Statement {
            Statement("SELECT api.\(function)(\(json))")
        }
        let customer = "(SELECT id FROM app.parties WHERE external_ref = 'CUST-CF')"
        func opportunity(_ title: String) -> String { "(SELECT id FROM app.opportunities WHERE title = '\(title)')" }
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
                                   'contract_id', (SELECT id FROM app.contracts WHERE reference = 'CF-2027-001'),
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
        ])
    }
}
