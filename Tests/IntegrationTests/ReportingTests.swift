import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

@Suite("Reporting roles and views")
struct ReportingTests {
    /// A psql-like connection as a reporting login.
    func login(_ server: ServerFixture, _ role: String, _ password: String) throws -> PostgresConnection {
        try PostgresConnection.connect(
            try Conninfo.replacing(["user": role, "password": password], in: try server.deployment.superuserURL))
    }

    func expectDenied(_ connection: PostgresConnection, _ sql: String) {
        #expect(throws: PostgresError.self, "\(sql) must be refused") { try connection.executeScript(sql) }
    }

    @Test("a reporting login sees only its organisation in every view, whatever it SETs, and can do nothing else")
    func isolation() async throws {
        let server = try await ServerFixture.start("reporting")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let worldA = try await EngagementWorld.make(a)
            let worldB = try await EngagementWorld.make(b, prefix: "B-")
            let activeA = try #require(try await a.move(try await worldA.engagement(a, code: "A1"), to: "active", reason: "go")["result"])
            let b1 = try await worldB.engagement(b, code: "B1")
            #expect(try await b.call("engagement.set_stage", ["id": b1["id"]!, "version": b1["version"]!, "stage": "adoption"])["result"] != nil)
            let stageModel = try #require(try await b.call("health_model.create", [
                "name": "Adoption", "metrics": [["metric": "kpi_attainment", "weight": 1]]])["result"])
            #expect(try await b.call("health_model.set_stage_model", ["journey_stage": "adoption", "model_id": stageModel["id"]!])["result"] != nil)
            // A portfolio and a contract with a rate and an SLA term, so that every view has rows of B's to show.
            let portfolio = try #require(try await b.call("portfolio.create", ["name": "Core"])["result"])
            #expect(try await b.call("portfolio.add_service", ["id": portfolio["id"]!, "service_id": worldB.service["id"]!])["result"] != nil)
            let contract = try #require(try await b.call("contract.create", [
                "customer_party_id": worldB.customer["id"]!, "reference": "B-C1", "title": "Support", "contract_type": "retainer",
                "total_value": 1000, "currency": "EUR", "start_date": "2025-01-01"])["result"])
            #expect(try await b.call("contract.set_rate", ["id": contract["id"]!, "rate_key": "Engineer", "rate_per_hour": 100])["result"] != nil)
            #expect(try await b.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "availability", "target": .number("99.9"), "comparison": ">=",
                "measurement_period": "monthly"])["result"] != nil)
            // Tracking data on both sides, so every view has rows to leak and rows to show.
            let trackedB = try #require(try await b.move(try await worldB.engagement(b, code: "B2"), to: "active")["result"])
            for (client, engagement) in [(a, activeA), (b, trackedB)] {
                let submitted = try await client.call("checkin.submit", [
                    "engagement_id": engagement["id"]!, "period": "2025-03",
                    "finance": [["category": "labour_cost", "plan": 100, "actual": 90, "currency": "EUR"]],
                    "kpis": [["kpi": "Availability", "actual": 99]], "capacity": [["role": "Engineer", "planned_hours": 8, "actual_hours": 9]]])
                #expect(submitted["result"] != nil, "\(JSONWriter.string(submitted))")
                _ = try await client.call("risk.raise", ["engagement_id": engagement["id"]!, "title": "Risk", "probability": "low", "impact": "low"])
            }

            #expect(try await b.call("touchpoint.create", [
                "engagement_id": trackedB["id"]!, "kind": "qbr", "title": "Review", "held_at": "2025-03-10T10:00:00Z",
                "action_items": [["title": "Follow up", "due_date": "2025-03-20"]]])["result"] != nil)
            let playbook = try #require(try await b.call("playbook.create", ["name": "Onboarding", "steps": [["title": "Kick-off"]]])["result"])
            #expect(try await b.call("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": trackedB["id"]!])["result"] != nil)
            let product = try #require(try await b.call("product.create", [
                "name": "Suite", "capabilities": [["name": "SSO", "usage_target": 10]]])["result"])
            let recorded = try #require(try await b.call("adoption.record", [
                "engagement_id": trackedB["id"]!, "product_id": product["id"]!, "period": "2025-03",
                "licences_purchased": 10, "licences_active": 5, "usage": [["capability": "SSO", "count": 5]]])["result"])
            #expect(recorded["adoption_score"] == .number("50.00") && recorded["capabilities"]?[0]?["score"] == .number("50.00"))
            let blueprint = try #require(try await b.call("blueprint.create", [
                "name": "Uptime plan", "objectives": [["title": "Stay up", "outcomes": [["title": "Availability", "target": .number("99.9"), "kpi": "Availability"]],
                                                        "initiatives": [["title": "Monitoring", "type": "remediation"]]]]])["result"])
            let applied = try #require(try await b.call("blueprint.apply", ["blueprint_id": blueprint["id"]!, "engagement_id": trackedB["id"]!])["result"])
            #expect(try await b.call("reminder.create", ["engagement_id": trackedB["id"]!, "subject_kind": "renewal"])["result"] != nil)
            #expect(try await b.call("trigger_rule.create", [
                "name": "Any risk", "event": "risk_raised", "actions": [["action": "notify", "message": "a risk"]]])["result"] != nil)
            #expect(try await b.call("risk.raise", ["engagement_id": trackedB["id"]!, "title": "Another", "probability": "low", "impact": "low"])["result"] != nil)
            let outcome = try #require(applied["objectives"]?[0]?["outcomes"]?[0])
            #expect(outcome["actual"] == 99 && outcome["status"] == "not_achieved", "\(JSONWriter.string(outcome))")

            // A pipeline: an opportunity won with the MOU, so both opportunity views have rows.
            let mou = try #require(try await b.call("contract.create", [
                "customer_party_id": worldB.customer["id"]!, "reference": "B-M1", "title": "MOU", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01", "end_date": "2025-12-31"])["result"])
            let opportunity = try #require(try await b.call("opportunity.create", [
                "customer_party_id": worldB.customer["id"]!, "title": "Support deal", "value": 5000, "currency": "EUR"])["result"])
            #expect(try await b.call("opportunity.win", [
                "id": opportunity["id"]!, "version": 1, "contract_id": mou["id"]!,
                "engagement": ["code": "B-WON", "template_id": worldB.template["id"]!]])["result"] != nil)

            // Delivery against the contract: a commitment (nothing delivered on it) and a project's deliverable.
            #expect(try await b.call("commitment.create", [
                "contract_id": contract["id"]!, "kind": "hours", "title": "Support hours", "hours": 10, "end_date": "2025-03-31"])["result"] != nil)
            #expect(try await b.call("project.create", [
                "engagement_id": trackedB["id"]!, "name": "Rollout", "deliverables": [["title": "Plan", "due_date": "2025-02-01"]]])["result"] != nil)

            // SLA results: B2 joins the contract, whose availability term its March (99) breaches; an exclusion window.
            let current = try #require(try await b.call("engagement.get", ["id": trackedB["id"]!])["result"])
            #expect(try await b.call("engagement.update", ["id": trackedB["id"]!, "version": current["version"]!, "contract_id": contract["id"]!])["result"] != nil)
            let term = try #require(try await b.call("contract.get", ["id": contract["id"]!])["result"]?["sla_terms"]?[0]?["id"])
            #expect(try await b.call("sla.add_exclusion", [
                "term_id": term, "engagement_id": trackedB["id"]!, "starts_at": "2025-03-02T00:00:00Z", "ends_at": "2025-03-02T01:00:00Z",
                "reason": "Maintenance"])["result"] != nil)

            let owner = try server.ownerConnection()
            defer { owner.close() }
            try RollupTests.refresh(server)
            let admin = TenantAdministrator(owner: owner)
            let roleB = try admin.createReportingRole(organisationID: server.orgB.id, name: "rpt_b_\(randomSuffix().replacingOccurrences(of: "-", with: ""))")
            let dba = try login(server, roleB.name, roleB.password)
            defer { dba.close() }
            // Spoof the server's setting to A, then look everywhere.
            try dba.executeScript("SET app.organisation_id = '\(server.orgA.id.uuidString.lowercased())'")
            try dba.executeScript("SET app.user_role = 'admin'")
            let views = try server.superuserConnection().query(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting' ORDER BY 1")
            #expect(views.rowCount >= 9)
            for row in 0..<views.rowCount {
                let view = views.string(row, 0)!
                let rows = try dba.query("SELECT row_to_json(v)::text FROM reporting.\(view) v")
                let text = (0..<rows.rowCount).compactMap { rows.string($0, 0) }.joined()
                #expect(!text.contains(server.orgA.id.uuidString.lowercased()), "\(view) leaks A's id")
                #expect(!text.contains(activeA["id"]!.stringValue!), "\(view) leaks A's engagement")
                #expect(rows.rowCount > 0, "\(view) shows B nothing")
                #expect(!text.contains("Organisation A") && !text.contains("admin@a.example"), "\(view) leaks A's data")
            }
            #expect(try dba.query("SELECT name FROM reporting.organisation").string(0, 0) == "Organisation B")
            #expect(try dba.query("SELECT code, customer_name, service_code FROM reporting.engagements").string(0, 0) == "B1")
            #expect(try dba.query("SELECT to_stage FROM reporting.journey_stage_changes").string(0, 0) == "adoption")
            // The adoption views compute the scores themselves (a view cannot call app functions with a DBA's rights):
            // they must say what the API says (10 purchased, 5 active: 50; SSO 5 of 10: 50; adoption 50).
            let adoption = try dba.query("SELECT licence_utilisation, capability_coverage, adoption_score FROM reporting.adoption")
            #expect(adoption.string(0, 0) == "50.00" && adoption.string(0, 1) == "50.00" && adoption.string(0, 2) == "50.00")
            #expect(try dba.query("SELECT score FROM reporting.capability_adoption").string(0, 0) == "50.00")
            // The outcomes view measures a KPI-bound outcome as app.outcome_json does: March's 99 against 99.9.
            let measured = try dba.query("SELECT actual, measured_period, status FROM reporting.outcomes")
            #expect(measured.string(0, 0) == "99" && measured.string(0, 1) == "2025-03-01" && measured.string(0, 2) == "not_achieved")
            #expect(try dba.query("SELECT count(*) FROM reporting.blueprint_items").int(0, 0) == 3)
            let fulfilment = try dba.query("SELECT string_agg(status || ':' || delivered, ',' ORDER BY period_start) FROM reporting.commitment_fulfilment")
            #expect(fulfilment.string(0, 0) == "lapsed:0,lapsed:0,lapsed:9.00", "B2's 9 hours of March against 10 a month")
            #expect(try dba.query("SELECT status || ' ' || adjusted FROM reporting.sla_results").string(0, 0) == "breached 99.1332", "446.4 minutes of downtime less the 60 excluded, over the rest of March")
            #expect(try dba.query("SELECT minutes FROM reporting.sla_exclusions").string(0, 0) == "60.00")
            #expect(try dba.query("SELECT status, percent FROM reporting.commitments").string(0, 0) == "lapsed")
            #expect(try dba.query("SELECT overdue FROM reporting.deliverables").string(0, 0) == "t")
            #expect(try dba.query("SELECT renewal_state FROM reporting.renewals WHERE contract_reference = 'B-M1'").string(0, 0) == "churned",
                    "ended, and its opportunity was new business, not a renewal")
            let won = try dba.query("SELECT outcome, engagement_code, contract_count FROM reporting.opportunities")
            #expect(won.string(0, 0) == "won" && won.string(0, 1) == "B-WON" && won.int(0, 2) == 1)
            #expect(try dba.query("SELECT string_agg(to_stage, ',' ORDER BY id) FROM reporting.opportunity_stage_changes").string(0, 0)
                    == "qualifying,closed_won")
            #expect(try dba.query("SELECT count(*) FROM reporting.audit_log").int(0, 0)! > 0)
            // Tracking views compute what the API reports.
            let finance = try dba.query("SELECT variance, variance_percent, attributed_party_name FROM reporting.finance")
            #expect(finance.string(0, 0) == "-10.00" && finance.string(0, 1) == "-10.00" && finance.string(0, 2) == "Organisation B")
            let kpi = try dba.query("SELECT attainment_percent, met FROM reporting.kpi_actuals")
            #expect(kpi.string(0, 0) == "99.10" && kpi.bool(0, 1) == false)
            #expect(try dba.query("SELECT cost_actual FROM reporting.showback").string(0, 0) == "90.00")
            #expect(try dba.query("SELECT actual_hours, kpis_owned FROM reporting.showback_hours").string(0, 0) == "9.00")
            #expect(try dba.query("SELECT utilisation_percent FROM reporting.capacity").string(0, 0) == "112.50")
            #expect(try dba.query("SELECT band FROM reporting.health_history").string(0, 0) == "green")
            #expect(try dba.query("SELECT severity FROM reporting.risk_signals").string(0, 0) == "low")

            // SET ROLE to the group changes nothing; to anything else is refused.
            try dba.executeScript("SET ROLE engagement_reporting")
            #expect(try dba.query("SELECT name FROM reporting.organisation").string(0, 0) == "Organisation B")
            try dba.executeScript("RESET ROLE")
            for sql in [
                "SET ROLE engagement_owner", "SET ROLE engagement_app", "SELECT * FROM app.parties", "SELECT * FROM app.reporting_roles",
                "SELECT * FROM meta.schema_migrations", "INSERT INTO reporting.parties (kind, name) VALUES ('customer', 'x')",
                "UPDATE reporting.engagements SET name = 'x'", "DELETE FROM reporting.audit_log", "TRUNCATE reporting.parties",
                "CREATE TABLE reporting.mine (x int)", "CREATE TABLE public.mine (x int)",
                "SELECT app.create_reporting_role('evil_role', 'SCRAM-SHA-256$x')",
                "CREATE TEMP TABLE mine (x int)", "CREATE FUNCTION tenant.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
                "CREATE FUNCTION public.mine() RETURNS int LANGUAGE sql AS 'SELECT 1'", "SELECT app.engagement_rollup(gen_random_uuid(), true)",
            ] { expectDenied(dba, sql) }
            // The tenant helper a reporting login may call gives its own organisation and nothing else.
            #expect(try dba.query("SELECT tenant.reporting_organisation_id()").string(0, 0) == server.orgB.id.uuidString.lowercased())

            let grants = try server.superuserConnection().query(
                """
                SELECT count(*) FROM information_schema.role_table_grants
                WHERE grantee = 'engagement_reporting' AND privilege_type <> 'SELECT'
                """)
            #expect(grants.int(0, 0) == 0, "SELECT is all a reporting login holds")
        }
    }

    @Test("admins create, list and drop reporting logins through the API; others cannot")
    func throughTheAPI() async throws {
        let server = try await ServerFixture.start("reporting-api")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let name = "rpt_api_\(randomSuffix().replacingOccurrences(of: "-", with: ""))"
            let created = try #require(try await a.call("reporting_role.create", ["name": .string(name)])["result"])
            let password = try #require(created["password"]?.stringValue)
            #expect(try await a.call("reporting_role.list")["result"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == [name])
            let dba = try login(server, name, password)
            #expect(try dba.query("SELECT name FROM reporting.organisation").string(0, 0) == "Organisation A")
            dba.close()
            #expect(try await a.call("reporting_role.create", ["name": .string(name)]).errorCode == -32004, "names are unique")
            #expect(try await a.call("reporting_role.create", ["name": "Bad Name"]).errorCode == -32602)

            let b = try await server.session(server.orgB)
            #expect(try await b.call("reporting_role.drop", ["name": .string(name)]).errorCode == -32003, "B cannot drop A's login")
            #expect(try await b.call("reporting_role.list")["result"]?.arrayValue?.isEmpty == true)

            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            _ = try admin.createUser(organisationID: server.orgA.id, email: "mgr@a.example", name: "Manager", role: .manager)
            let manager = try await server.connect()
            _ = try await manager.call("session.authenticate", ["api_key": .string(try admin.issueKey(organisationID: server.orgA.id, userEmail: "mgr@a.example").key.text)])
            #expect(try await manager.call("reporting_role.create", ["name": "rpt_mgr_x"]).errorCode == -32002)

            #expect(try await a.call("reporting_role.drop", ["name": .string(name)])["result"]?["dropped"] == true)
            #expect(throws: PostgresError.self) { try login(server, name, password) }
        }
    }

    func randomSuffix() -> String { String(UUID().uuidString.prefix(8)).lowercased() }
}
