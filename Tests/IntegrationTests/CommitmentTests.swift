import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Commitments and "did we deliver?": fulfilment worked by hand (partial months, hours per FTE, roles, quarters,
/// deliverables accepted on time or late), projects and deliverables with their moves, and the bad input.
@Suite("Commitments and deliverables")
struct CommitmentTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }
    func periods(_ commitment: JSONValue) -> [String] {
        (commitment["fulfilment"]?["periods"]?.arrayValue ?? []).map {
            "\($0["period_start"]?.stringValue ?? "?") \($0["required"].map(JSONWriter.string) ?? "?")/\($0["delivered"].map(JSONWriter.string) ?? "?") \($0["status"]?.stringValue ?? "?")"
        }
    }

    /// A contract from 16 January to 30 April 2025 and its active engagement, with capacity checked in for
    /// January (45 h Engineer), February (40 h Engineer), nothing in March, April (50 h Engineer + 30 h Architect).
    struct Fixture {
        let client: RPCConnection
        let world: EngagementWorld
        let contract: JSONValue
        let engagement: JSONValue

        static func make(_ client: RPCConnection) async throws -> Fixture {
            let world = try await EngagementWorld.make(client)
            let contract = try #require(try await client.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "FTE-1", "title": "Support", "contract_type": "time_and_materials",
                "total_value": 100000, "currency": "EUR", "start_date": "2025-01-16", "end_date": "2025-04-30"])["result"])
            let draft = try await world.engagement(client, code: "FTE-E", extra: ["contract_id": contract["id"]!])
            let engagement = try #require(try await client.move(draft, to: "active")["result"])
            for (period, capacity) in [("2025-01", [("Engineer", 45)]), ("2025-02", [("Engineer", 40)]),
                                       ("2025-04", [("Engineer", 50), ("Architect", 30)])] {
                let reply = try await client.call("checkin.submit", [
                    "engagement_id": engagement["id"]!, "period": .string(period),
                    "capacity": .array(capacity.map { ["role": .string($0.0), "actual_hours": .number(String($0.1))] })])
                #expect(reply["result"] != nil, "\(JSONWriter.string(reply))")
            }
            return Fixture(client: client, world: world, contract: contract, engagement: engagement)
        }
    }

    @Test("an FTE clause per month: prorated first month, hours per FTE from the settings, lapsed months, overall percent capped per month")
    func fteClause() async throws {
        let server = try await ServerFixture.start("commitments-fte")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let f = try await Fixture.make(client)
            let fte = try #require(try await client.call("commitment.create", [
                "contract_id": f.contract["id"]!, "kind": "fte", "title": "Half a service manager", "fte": .number("0.5")])["result"])
            #expect(fte["start_date"] == "2025-01-16" && fte["end_date"] == "2025-04-30", "the contract's dates")
            // 0.5 × 160 = 80 h a month; January from the 16th: 80 × 16/31 = 41.29.
            #expect(periods(fte) == ["2025-01-01 41.29/45.00 fulfilled", "2025-02-01 80.00/40.00 lapsed", "2025-03-01 80.00/0 lapsed",
                                     "2025-04-01 80.00/80.00 fulfilled"], "\(periods(fte))")
            let first = try #require(fte["fulfilment"]?["periods"]?[0])
            #expect(first["percent"] == .number("108.99"))
            // (41.29 + 40 + 0 + 80) / (41.29 + 80 + 80 + 80): January's extra hours do not make up for February.
            #expect(fte["fulfilment"]?["status"] == "lapsed" && fte["fulfilment"]?["percent"] == .number("57.34")
                    && fte["fulfilment"]?["required_to_date"] == .number("281.29") && fte["fulfilment"]?["delivered_to_date"] == .number("161.29"),
                    "\(JSONWriter.string(fte["fulfilment"] ?? .null))")

            let settings = try #require(try await client.call("commercial.set_settings", ["hours_per_fte": 100])["result"])
            #expect(settings["hours_per_fte"] == .number("100.00") && settings["renewal_window_days"] == 90)
            let cheaper = try #require(try await client.call("commitment.get", ["id": fte["id"]!, "from": "2024-12", "to": "2025-05"])["result"])
            #expect(periods(cheaper) == ["2024-12-01 null/null not_applicable", "2025-01-01 25.81/45.00 fulfilled", "2025-02-01 50.00/40.00 lapsed",
                                         "2025-03-01 50.00/0 lapsed", "2025-04-01 50.00/80.00 fulfilled", "2025-05-01 null/null not_applicable"],
                    "\(periods(cheaper))")

            // Hours per quarter, all roles: Q1 covers 75 of its 90 days (300 × 75/90 = 250), Q2 30 of 91 (98.90).
            let quarterly = try #require(try await client.call("commitment.create", [
                "contract_id": f.contract["id"]!, "kind": "hours", "title": "Project hours", "hours": 300, "period": "quarter"])["result"])
            #expect(periods(quarterly) == ["2025-01-01 250.00/85.00 lapsed", "2025-04-01 98.90/80.00 lapsed"], "\(periods(quarterly))")
            // An architect's 30 hours a month from April: only that role counts.
            let architect = try #require(try await client.call("commitment.create", [
                "contract_id": f.contract["id"]!, "kind": "hours", "title": "Architecture", "hours": 30, "role": "architect",
                "start_date": "2025-04-01", "engagement_ids": [f.engagement["id"]!]])["result"])
            #expect(periods(architect) == ["2025-04-01 30.00/30.00 fulfilled"] && architect["fulfilment"]?["status"] == "fulfilled")
            #expect(architect["engagement_ids"] == [f.engagement["id"]!])
            // Hours over the whole contract.
            let block = try #require(try await client.call("commitment.create", [
                "contract_id": f.contract["id"]!, "kind": "hours", "title": "Block of 160 hours", "hours": 160, "period": "contract"])["result"])
            #expect(periods(block) == ["2025-01-16 160.00/165.00 fulfilled"], "\(periods(block))")

            let report = try #require(try await client.call("report.commitments", ["engagement_id": f.engagement["id"]!])["result"])
            #expect(report["delivered"] == false)
            let contract = try #require(report["contracts"]?[0])
            #expect(contract["contract"]?["reference"] == "FTE-1" && contract["delivered"] == false)
            #expect(contract["by_status"]?["lapsed"] == 2 && contract["by_status"]?["fulfilled"] == 2, "\(JSONWriter.string(contract["by_status"] ?? .null))")
            #expect(contract["commitments"]?.arrayValue?.count == 4)
            let listed = try #require(try await client.call("commitment.list", ["contract_id": f.contract["id"]!, "kind": "hours"])["result"]?["items"]?.arrayValue)
            #expect(listed.count == 3)
        }
    }

    @Test("deliverable commitments: accepted by the due date fulfils, late lapses; projects' deliverables move by the rules and roll up")
    func deliverables() async throws {
        let server = try await ServerFixture.start("commitments-deliverables")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let f = try await Fixture.make(client)
            let onTime = try #require(try await client.call("commitment.create", [
                "contract_id": f.contract["id"]!, "kind": "deliverable", "title": "Runbook", "due_date": "2025-03-31"])["result"])
            let late = try #require(try await client.call("commitment.create", [
                "contract_id": f.contract["id"]!, "kind": "deliverable", "title": "DR plan", "due_date": "2025-02-28"])["result"])
            let project = try #require(try await client.call("project.create", [
                "engagement_id": f.engagement["id"]!, "name": "Transition", "start_date": "2025-01-16",
                "deliverables": [["title": "Runbook v1", "due_date": "2025-03-31", "commitment_id": onTime["id"]!],
                                 ["title": "DR plan", "due_date": "2025-02-28", "commitment_id": late["id"]!],
                                 ["title": "Handbook"]]])["result"])
            let items = try #require(project["deliverables"]?.arrayValue)
            #expect(items.count == 3 && items[0]["status"] == "planned" && items[0]["overdue"] == true)

            func move(_ item: JSONValue, _ status: String, _ extra: JSONObject = [:]) async throws -> JSONValue {
                var params: JSONObject = ["id": item["id"]!, "version": item["version"]!, "status": .string(status)]
                for member in extra.members { params[member.key] = member.value }
                return try await client.call("deliverable.update", .object(params))
            }
            let skipped = try await move(items[0], "accepted")
            #expect(skipped.errorCode == -32007 && skipped.errorReason == "illegal_transition", "planned cannot be accepted")
            var runbook = try #require(try await move(items[0], "submitted")["result"])
            #expect(runbook["submitted_at"] != .null)
            let future = try await move(runbook, "accepted", ["accepted_at": "2999-01-01T00:00:00Z"])
            #expect(future.errorCode == -32602 && path(future) == "params.accepted_at")
            runbook = try #require(try await move(runbook, "accepted", ["accepted_at": "2025-03-20T10:00:00Z"])["result"])
            #expect(runbook["accepted_at"]?.stringValue?.hasPrefix("2025-03-20") == true && runbook["accepted_by"] != .null && runbook["overdue"] == false)
            let reopened = try await move(runbook, "in_progress")
            #expect(reopened.errorCode == -32007 && reopened.errorReason == "deliverable_accepted")
            var plan = try #require(try await move(items[1], "submitted")["result"])
            plan = try #require(try await move(plan, "rejected")["result"])
            plan = try #require(try await move(plan, "submitted")["result"])
            plan = try #require(try await move(plan, "accepted", ["accepted_at": "2025-03-05T09:00:00Z"])["result"])

            let fulfilled = try #require(try await client.call("commitment.get", ["id": onTime["id"]!])["result"])
            #expect(periods(fulfilled) == ["2025-01-16 1/1 fulfilled"] && fulfilled["deliverables"]?[0]?["status"] == "accepted", "\(periods(fulfilled))")
            let lapsed = try #require(try await client.call("commitment.get", ["id": late["id"]!])["result"])
            #expect(periods(lapsed) == ["2025-01-16 1/0 lapsed"], "accepted after its due date: \(periods(lapsed))")
            let report = try #require(try await client.call("report.commitments", ["contract_id": f.contract["id"]!])["result"])
            #expect(report["contracts"]?[0]?["by_status"]?["lapsed"] == 1 && report["contracts"]?[0]?["by_status"]?["fulfilled"] == 1)

            let overdue = try #require(try await client.call("deliverable.list", ["engagement_id": f.engagement["id"]!, "overdue": true])["result"]?["items"]?.arrayValue)
            #expect(overdue.isEmpty, "accepted ones are not overdue and the handbook has no due date")
            let rollup = try #require(try await client.call("engagement.rollup", ["id": f.engagement["id"]!, "fresh": true])["result"]?["work"]?["deliverables"])
            #expect(rollup["by_status"]?["accepted"] == 2 && rollup["by_status"]?["planned"] == 1 && rollup["overdue"] == 0, "\(JSONWriter.string(rollup))")
        }
    }

    @Test("bad input names its path and writes nothing: FTE ≤ 0, another contract's engagement or commitment, dates outside the contract")
    func badInput() async throws {
        let server = try await ServerFixture.start("commitments-bad")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let f = try await Fixture.make(client)
            let other = try #require(try await client.call("contract.create", [
                "customer_party_id": f.world.customer["id"]!, "reference": "OTHER", "title": "Other", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01"])["result"])
            let otherEngagement = try await f.world.engagement(client, code: "OTHER-E", extra: ["contract_id": other["id"]!])
            let base: JSONObject = ["contract_id": f.contract["id"]!, "kind": "fte", "title": "X"]
            func create(_ extra: JSONObject) async throws -> JSONValue {
                var params = base
                for member in extra.members { params[member.key] = member.value }
                return try await client.call("commitment.create", .object(params))
            }
            for (extra, expected) in [(["fte": 0] as JSONObject, "params.fte"), (["fte": -1], "params.fte"),
                                      ([:], "params.kind"), (["fte": 1, "hours": 5], "params.kind"),
                                      (["fte": 1, "end_date": "2025-06-30"], "params.end_date"),
                                      (["fte": 1, "start_date": "2025-01-01"], "params.start_date"),
                                      (["fte": 1, "engagement_ids": [f.engagement["id"]!, otherEngagement["id"]!]], "params.engagement_ids[1]")] {
                let reply = try await create(extra)
                #expect(reply.errorCode == -32602 && path(reply) == expected, "\(expected): \(JSONWriter.string(reply))")
            }
            let foreign = try #require(try await client.call("commitment.create", [
                "contract_id": other["id"]!, "kind": "deliverable", "title": "Other's", "due_date": "2025-06-30"])["result"])
            let project = try await client.call("project.create", [
                "engagement_id": f.engagement["id"]!, "name": "P",
                "deliverables": [["title": "ok"], ["title": "wrong", "commitment_id": foreign["id"]!]]])
            #expect(project.errorCode == -32602 && path(project) == "params.deliverables[1].commitment_id", "\(JSONWriter.string(project))")
            #expect(try await client.call("commitment.list", ["contract_id": f.contract["id"]!])["result"]?["items"]?.arrayValue?.isEmpty == true)
            #expect(try await client.call("project.list")["result"]?["items"]?.arrayValue?.isEmpty == true, "all or nothing")
            let settings = try await client.call("commercial.set_settings", ["hours_per_fte": 0])
            #expect(settings.errorCode == -32602 && path(settings) == "params.hours_per_fte")

            let owner = try server.ownerConnection()
            defer { owner.close() }
            // The period statuses that depend on the day asked: worked for 4 December 2026.
            let statuses = try owner.query("""
                SELECT string_agg(app.fulfilment_status(r, d, s::date, e::date, '2026-12-04'), ',' ORDER BY n)
                FROM (VALUES (1, NULL::numeric, NULL::numeric, '2026-12-01', '2026-12-31'), (2, 80, 0, '2027-01-01', '2027-01-31'),
                             (3, 80, 0, '2026-12-01', '2026-12-31'), (4, 80, 10, '2026-12-01', '2026-12-31'),
                             (5, 80, 80, '2026-12-01', '2026-12-31'), (6, 80, 79.99, '2026-11-01', '2026-11-30'),
                             (7, 80, 90, '2026-11-01', '2026-11-30')) AS x(n, r, d, s, e)
                """)
            #expect(statuses.string(0, 0) == "not_applicable,not_started,unfulfilled,partially_fulfilled,fulfilled,lapsed,fulfilled")
            #expect(throws: PostgresError.self, "psql: an FTE of zero") {
                try owner.query("INSERT INTO app.commitments (organisation_id, contract_id, kind, title, fte) SELECT organisation_id, id, 'fte', 'psql', 0 FROM app.contracts WHERE reference = 'FTE-1'")
            }
        }
    }
}
