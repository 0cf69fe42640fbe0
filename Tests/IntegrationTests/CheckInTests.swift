import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// An active engagement (2025) of organisation A with its world, and a way to submit months.
struct TrackedEngagement {
    let client: RPCConnection
    let world: EngagementWorld
    var engagement: JSONValue

    static func make(_ client: RPCConnection, code: String = "T1", extra: JSONObject = [:]) async throws -> TrackedEngagement {
        let world = try await EngagementWorld.make(client, prefix: code)
        let draft = try await world.engagement(client, code: code, extra: extra)
        let active = try #require(try await client.move(draft, to: "active")["result"])
        return TrackedEngagement(client: client, world: world, engagement: active)
    }

    var id: JSONValue { engagement["id"]! }

    func submit(_ period: String, _ content: JSONObject = [:]) async throws -> JSONValue {
        var params: JSONObject = ["engagement_id": id, "period": .string(period)]
        for member in content.members { params[member.key] = member.value }
        return try await client.call("checkin.submit", .object(params))
    }

    mutating func move(to status: String) async throws {
        engagement = try #require(try await client.move(engagement, to: status)["result"])
    }
}

extension JSONValue {
    var firstErrorPath: String? { self["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }
}

@Suite("Check-ins")
struct CheckInTests {
    @Test("check-ins follow the lifecycle: none in draft or on hold, any while active, the final one once after completion")
    func lifecycleRules() async throws {
        let server = try await ServerFixture.start("checkin-lifecycle")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            let draft = try await world.engagement(a, code: "L1")
            let early = try await a.call("checkin.submit", ["engagement_id": draft["id"]!, "period": "2025-01"])
            #expect(early.errorCode == -32007 && early.errorReason == "check_in_not_accepted", "\(JSONWriter.string(early))")

            var tracked = TrackedEngagement(client: a, world: world, engagement: try #require(try await a.move(draft, to: "active")["result"]))
            let january = try await tracked.submit("2025-01", ["notes": "first month"])
            #expect(january["result"]?["period"] == "2025-01" && january["result"]?["is_final"] == false, "\(JSONWriter.string(january))")
            let again = try await tracked.submit("2025-01")
            #expect(again.errorCode == -32004 && again.errorReason == "already_exists" && again.firstErrorPath == "params.period")

            try await tracked.move(to: "on_hold")
            let onHold = try await tracked.submit("2025-02")
            #expect(onHold.errorCode == -32007 && onHold.errorReason == "check_in_not_accepted")
            #expect(onHold["error"]?["message"]?.stringValue?.contains("on hold") == true)
            let amendOnHold = try await a.call("checkin.amend", ["id": january["result"]!["id"]!, "version": 1, "notes": "x"])
            #expect(amendOnHold.errorCode == -32007, "no amendments while on hold either")
            try await tracked.move(to: "active")
            #expect(try await tracked.submit("2025-02")["result"] != nil)

            try await tracked.move(to: "completed")
            let final = try await tracked.submit("2025-03", ["notes": "closing"])
            #expect(final["result"]?["is_final"] == true, "\(JSONWriter.string(final))")
            let second = try await tracked.submit("2025-04")
            #expect(second.errorCode == -32007 && second.errorReason == "final_check_in_submitted")
            let amendFinal = try await a.call("checkin.amend", ["id": final["result"]!["id"]!, "version": 1, "notes": "changed"])
            #expect(amendFinal.errorCode == -32007 && amendFinal.errorReason == "final_check_in_submitted")
            let list = try await a.call("checkin.list", ["engagement_id": tracked.id])
            #expect(list["result"]?["items"]?.arrayValue?.compactMap { $0["period"]?.stringValue } == ["2025-01", "2025-02", "2025-03"])
            let finals = try await a.call("checkin.list", ["engagement_id": tracked.id, "is_final": true, "order": "desc"])
            #expect(finals["result"]?["items"]?.arrayValue?.count == 1)
        }
    }

    @Test("an amendment replaces the sections given, keeps the others, and every revision stays in the history")
    func amendmentHistory() async throws {
        let server = try await ServerFixture.start("checkin-history")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let submitted = try #require(try await tracked.submit("2025-02", [
                "finance": [["category": "labour_cost", "plan": 1000, "actual": .number("1100.50"), "currency": "EUR"]],
                "kpis": [["kpi": "availability", "actual": .number("99.95")]],
            ])["result"], "submit")
            #expect(submitted["finance"]?[0]?["variance"] == .number("100.50"))
            #expect(submitted["kpis"]?[0]?["kpi"] == "Availability", "KPIs are matched by name, case-insensitively")

            let amended = try await a.call("checkin.amend", [
                "id": submitted["id"]!, "version": 1, "reason": "invoice corrected",
                "finance": [["category": "labour_cost", "plan": 1000, "actual": 1050, "currency": "EUR"]],
            ])
            #expect(amended["result"]?["version"] == 2, "\(JSONWriter.string(amended))")
            #expect(amended["result"]?["kpis"]?[0]?["actual"] == .number("99.95"), "sections not given are kept")
            let stale = try await a.call("checkin.amend", ["id": submitted["id"]!, "version": 1, "notes": "late"])
            #expect(stale.errorCode == -32004 && stale.errorReason == "stale_version")

            let history = try #require(try await a.call("checkin.history", ["id": submitted["id"]!])["result"]?.arrayValue)
            #expect(history.count == 2)
            #expect(history[0]["revision"] == 1 && history[1]["revision"] == 2)
            #expect(history[1]["reason"] == "invoice corrected" && history[1]["method"] == "checkin.amend")
            #expect(history[1]["changes"]?["finance"]?["before"]?[0]?["actual"] == .number("1100.50"))
            #expect(history[1]["changes"]?["finance"]?["after"]?[0]?["actual"] == .number("1050.00"))
            #expect(history[1]["changes"]?["kpis"] == nil, "only what changed is listed")
            #expect(history[1]["written_by"] != nil && history[1]["written_by"] != .null)

            // Resubmitting the month replaces all of it, as a new revision of the same check-in.
            let plain = try await tracked.submit("2025-02", ["notes": "again"])
            #expect(plain.errorCode == -32004 && plain.errorReason == "already_exists")
            let resubmitted = try #require(try await tracked.submit("2025-02", [
                "replace": true, "capacity": [["role": "Engineer", "actual_hours": 10]]])["result"])
            #expect(resubmitted["id"] == submitted["id"] && resubmitted["version"] == 3)
            #expect(resubmitted["finance"] == [] && resubmitted["kpis"] == [] && resubmitted["notes"] == "")
            let bulk = try await a.call("checkin.submit_many", ["items": [
                ["engagement_id": tracked.id, "period": "2025-02", "replace": true, "reason": "import", "notes": "from the ERP",
                 "capacity": [["role": "Engineer", "actual_hours": 11]]]]])
            #expect(bulk["result"]?["results"]?[0]?["version"] == 4 && bulk["result"]?["results"]?[0]?["id"] == submitted["id"])
            let revisions = try #require(try await a.call("checkin.history", ["id": submitted["id"]!])["result"]?.arrayValue)
            #expect(revisions.map { $0["reason"]?.stringValue ?? "?" } == ["", "invoice corrected", "resubmitted", "import"])
            #expect(revisions[2]["changes"]?["capacity"]?["after"]?[0]?["role"] == "Engineer")

            // psql obeys the same rules: an item cannot change behind its check-in's back.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            do {
                _ = try owner.query(
                    "UPDATE app.capacity_entries SET actual_hours = 1 WHERE organisation_id = $1::uuid", [server.orgA.id])
                Issue.record("a silent change of an item must fail")
            } catch {
                #expect((error as? PostgresError)?.serverError?.sqlState.rawValue == "ES007")
            }
        }
    }

    @Test("bad input gets -32602 with the field path, and nothing is written")
    func badInput() async throws {
        let server = try await ServerFixture.start("checkin-bad-input")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let contract = try #require(try await a.call("contract.create", [
                "customer_party_id": tracked.world.customer["id"]!, "reference": "C-1", "title": "Support",
                "contract_type": "fixed_fee", "total_value": 12000, "currency": "EUR", "start_date": "2025-01-01",
            ])["result"])
            let linked = try #require(try await a.call("engagement.update", [
                "id": tracked.id, "version": tracked.engagement["version"]!, "contract_id": contract["id"]!])["result"])
            let cases: [(JSONObject, String)] = [
                (["period": "2025-13"], "params.period"),
                (["period": "2026-01"], "params.period"),
                (["period": "2024-12"], "params.period"),
                (["period": "2025-03", "capacity": [["role": "Engineer", "planned_hours": -1]]], "params.capacity[0].planned_hours"),
                (["period": "2025-03", "kpis": [["kpi": "Uptime", "actual": 1]]], "params.kpis[0].kpi"),
                (["period": "2025-03", "kpis": [["kpi": "Availability", "actual": 1], ["kpi": "availability", "actual": 2]]], "params.kpis[1].kpi"),
                (["period": "2025-03", "finance": [["category": "revenue", "plan": 1, "currency": "USD"]]], "params.finance[0].currency"),
                (["period": "2025-03", "finance": [["category": "revenue", "currency": "EUR"]]], "params.finance[0]"),
                (["period": "2025-03", "finance": [["category": "revenue", "plan": 1, "deliverer_party_id": tracked.world.partner["id"]!]]],
                 "params.finance[0].deliverer_party_id"),
                (["period": "2025-03", "capacity": [["role": "A", "actual_hours": 1], ["role": "a", "actual_hours": 2]]], "params.capacity[1].role"),
            ]
            for (content, path) in cases {
                let reply = try await tracked.submit(content["period"]!.stringValue!, content)
                #expect(reply.errorCode == -32602 && reply.firstErrorPath == path, "\(path): \(JSONWriter.string(reply))")
            }
            let none = try await a.call("checkin.list", ["engagement_id": linked["id"]!])
            #expect(none["result"]?["items"] == [], "no refused submission left anything behind")
            // The contract's currency is the default.
            let ok = try await tracked.submit("2025-03", ["finance": [["category": "revenue", "plan": 1000]]])
            #expect(ok["result"]?["finance"]?[0]?["currency"] == "EUR", "\(JSONWriter.string(ok))")
        }
    }

    @Test("bulk submission is all-or-nothing per engagement, with a result per item")
    func bulk() async throws {
        let server = try await ServerFixture.start("checkin-bulk")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let first = try await TrackedEngagement.make(a, code: "B1")
            let second = try await TrackedEngagement.make(a, code: "B2")
            let reply = try await a.call("checkin.submit_many", ["items": [
                ["engagement_id": first.id, "period": "2025-01"],
                ["engagement_id": second.id, "period": "2025-01"],
                ["engagement_id": first.id, "period": "2025-02"],
                ["engagement_id": second.id, "period": "2025-02", "kpis": [["kpi": "Nope", "actual": 1]]],
                ["engagement_id": .string(UUID().uuidString.lowercased()), "period": "2025-01"],
            ]])
            let result = try #require(reply["result"], "\(JSONWriter.string(reply))")
            let statuses = result["results"]?.arrayValue?.compactMap { $0["status"]?.stringValue }
            #expect(statuses == ["written", "rolled_back", "written", "failed", "failed"], "\(JSONWriter.string(result))")
            #expect(result["written"] == 2 && result["failed"] == 3)
            #expect(result["results"]?[1]?["caused_by"] == 3)
            #expect(result["results"]?[3]?["error"]?["data"]?["fields"]?[0]?["path"] == "params.items[3].kpis[0].kpi")
            #expect(result["results"]?[4]?["error"]?["data"]?["fields"]?[0]?["path"] == "params.items[4].engagement_id")
            let secondMonths = try await a.call("checkin.list", ["engagement_id": second.id])
            #expect(secondMonths["result"]?["items"] == [], "the failed engagement's other month was rolled back")
            let firstMonths = try await a.call("checkin.list", ["engagement_id": first.id])
            #expect(firstMonths["result"]?["items"]?.arrayValue?.count == 2)
        }
    }

    @Test("a submit retried with its idempotency key returns the first reply")
    func idempotentSubmit() async throws {
        let server = try await ServerFixture.start("checkin-idempotency")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let params: JSONObject = ["idempotency_key": "k-1", "notes": "n"]
            let first = try await tracked.submit("2025-05", params)
            let retry = try await tracked.submit("2025-05", params)
            #expect(first["result"] != nil && retry["result"] == first["result"])
            let other = try await tracked.submit("2025-06", params)
            #expect(other.errorReason == "idempotency_key_reused")
        }
    }
}
