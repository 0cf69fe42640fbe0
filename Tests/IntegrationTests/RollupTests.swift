import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

@Suite("Rollups")
struct RollupTests {
    /// P (active) has children C1 (active, contract EUR 100,000), C2 (on hold, contract GBP 50,000) and C3 (draft,
    /// the same EUR contract as C1); G (active, no contract) is C1's child. Scores use attainment only:
    /// C1 green 100 (Jan), C2 red 20 (Jan), G amber 60 (Feb); P and C3 have no check-in. Risks: C1 open high ×
    /// critical with EUR 10,000 at risk; C2 mitigating low × low with GBP 5,000; G's is resolved.
    static func buildAccount(_ a: RPCConnection) async throws -> [String: JSONValue] {
        let world = try await EngagementWorld.make(a)
        func result(_ method: String, _ params: JSONValue) async throws -> JSONValue {
            let reply = try await a.call(method, params)
            return try #require(reply["result"], "\(method): \(JSONWriter.string(reply))")
        }
        let model = try await result("health_model.create", ["name": "Attainment", "metrics": [["metric": "kpi_attainment", "weight": 1]]])
        _ = try await result("health_model.update", ["id": model["id"]!, "version": 1, "is_default": true])
        func contract(_ reference: String, _ value: Int, _ currency: String) async throws -> JSONValue {
            try await result("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": .string(reference), "title": .string(reference),
                "contract_type": "fixed_fee", "total_value": .number(String(value)), "currency": .string(currency),
                "start_date": "2025-01-01"])
        }
        let euro = try await contract("K1", 100_000, "EUR")
        let pound = try await contract("K2", 50_000, "GBP")
        var ids: [String: JSONValue] = [:]
        for (code, contract) in [("P", JSONValue.null), ("C1", euro["id"]!), ("C2", pound["id"]!), ("C3", euro["id"]!), ("G", .null)] {
            let created = try await world.engagement(a, code: code, extra: contract == .null ? [:] : ["contract_id": contract])
            ids[code] = created["id"]!
            if code != "C3" { _ = try await result("engagement.transition", ["id": created["id"]!, "version": created["version"]!, "to": "active"]) }
        }
        for (child, parent) in [("C1", "P"), ("C2", "P"), ("C3", "P"), ("G", "C1")] {
            let current = try await result("engagement.get", ["id": ids[child]!])
            _ = try await result("engagement.set_parent", ["id": ids[child]!, "version": current["version"]!, "parent_id": ids[parent]!])
        }
        func submit(_ code: String, _ period: String, _ availability: String, _ extra: JSONObject) async throws {
            var params: JSONObject = ["engagement_id": ids[code]!, "period": .string(period), "kpis": [["kpi": "Availability", "actual": .number(availability)]]]
            for member in extra.members { params[member.key] = member.value }
            _ = try await result("checkin.submit", .object(params))
        }
        try await submit("C1", "2025-01", "99.9", [
            "capacity": [["role": "Engineer", "planned_hours": 10, "actual_hours": 12]],
            "finance": [["category": "labour_cost", "plan": 100, "actual": 110]]])
        try await submit("C2", "2025-01", "59.94", [
            "capacity": [["role": "Engineer", "planned_hours": 5, "actual_hours": 4]],
            "finance": [["category": "labour_cost", "plan": 200, "actual": 150]]])
        try await submit("G", "2025-02", "79.92", [:])
        let c2 = try await result("engagement.get", ["id": ids["C2"]!])
        _ = try await result("engagement.transition", ["id": ids["C2"]!, "version": c2["version"]!, "to": "on_hold"])
        _ = try await result("risk.raise", ["engagement_id": ids["C1"]!, "title": "Outage", "probability": "high", "impact": "critical", "value_at_risk": 10000])
        _ = try await result("risk.raise", ["engagement_id": ids["C2"]!, "title": "Slip", "probability": "low", "impact": "low", "value_at_risk": 5000])
        let resolved = try await result("risk.raise", ["engagement_id": ids["G"]!, "title": "Old", "probability": "very_high", "impact": "critical"])
        _ = try await result("risk.resolve", ["id": resolved["id"]!, "version": resolved["version"]!])
        return ids
    }

    /// Raises a third open risk under P (on G) and reads P's maintained rollup until it counts it (up to 30 s);
    /// returns the last count read.
    static func raiseRiskAndWait(_ a: RPCConnection, _ ids: [String: JSONValue]) async throws -> JSONValue? {
        _ = try await a.call("risk.raise", ["engagement_id": ids["G"]!, "title": "New", "probability": "medium", "impact": "high"])
        var open: JSONValue?
        for _ in 0..<120 {
            open = try await a.call("engagement.rollup", ["id": ids["P"]!])["result"]?["risks"]?["open"]
            if open == 3 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        return open
    }

    static func refresh(_ server: ServerFixture) throws {
        let owner = try server.ownerConnection()
        defer { owner.close() }
        // The server's own refresher may hold the lock for a moment; the next try gets it.
        for _ in 0..<50 {
            if try owner.query("SELECT app.refresh_rollups()").bool(0, 0) == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("the rollup refresh lock never became free")
    }

    @Test("rollup arithmetic over a subtree with mixed currencies, statuses, bands and risks")
    func arithmetic() async throws {
        let server = try await ServerFixture.start("rollup-arithmetic")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let ids = try await Self.buildAccount(a)
            let p = try #require(try await a.call("engagement.rollup", ["id": ids["P"]!, "fresh": true])["result"])
            #expect(p["source"] == "live")
            #expect(p["engagements"] == 5)
            #expect(p["by_status"]?["draft"] == 1 && p["by_status"]?["active"] == 3 && p["by_status"]?["on_hold"] == 1)
            #expect(p["by_status"]?["completed"] == 0 && p["by_status"]?["archived"] == 0)
            #expect(p["contract_value"]?["EUR"] == .number("100000.00"), "K1 counted once although two engagements use it")
            #expect(p["contract_value"]?["GBP"] == .number("50000.00"))
            #expect(p["health"]?["by_band"]?["red"] == 1 && p["health"]?["by_band"]?["amber"] == 1)
            #expect(p["health"]?["by_band"]?["green"] == 1 && p["health"]?["by_band"]?["unknown"] == 2)
            #expect(p["health"]?["mean"] == .number("60.00"), "(100 + 20 + 60) / 3")
            #expect(p["health"]?["weighted_by_contract_value"]?["EUR"] == .number("100.00"))
            #expect(p["health"]?["weighted_by_contract_value"]?["GBP"] == .number("20.00"))
            #expect(p["risks"]?["open"] == 2, "the resolved one is not counted")
            #expect(p["risks"]?["by_probability"]?["high"] == 1 && p["risks"]?["by_probability"]?["low"] == 1)
            #expect(p["risks"]?["by_probability"]?["very_high"] == 0)
            #expect(p["risks"]?["by_severity"]?["critical"] == 1 && p["risks"]?["by_severity"]?["low"] == 1)
            #expect(p["risks"]?["value_at_risk"]?["EUR"] == .number("10000.00") && p["risks"]?["value_at_risk"]?["GBP"] == .number("5000.00"))
            let january = try #require(p["monthly"]?[0])
            #expect(january["period"] == "2025-01" && january["check_ins"] == 2)
            #expect(january["planned_hours"] == .number("15.00") && january["actual_hours"] == .number("16.00"))
            #expect(january["health_mean"] == .number("60.00"))
            #expect(january["health_by_band"]?["red"] == 1 && january["health_by_band"]?["green"] == 1)
            #expect(p["monthly"]?[1]?["period"] == "2025-02" && p["monthly"]?[1]?["health_by_band"]?["amber"] == 1)
            let finance = try #require(p["finance"]?.arrayValue)
            #expect(finance.count == 2, "one row per month and currency, never summed across currencies")
            #expect(finance.first { $0["currency"] == "EUR" }?["cost_variance"] == .number("10.00"))
            #expect(finance.first { $0["currency"] == "GBP" }?["cost_variance"] == .number("-50.00"))

            let c1 = try #require(try await a.call("engagement.rollup", ["id": ids["C1"]!, "fresh": true])["result"])
            #expect(c1["engagements"] == 2 && c1["health"]?["mean"] == .number("80.00"))
            #expect(c1["contract_value"]?["GBP"] == nil)
        }
    }

    @Test("the materialized answer equals the live one after a refresh, and writes trigger a refresh by themselves")
    func materializedAgreesWithLive() async throws {
        let server = try await ServerFixture.start("rollup-refresh") { $0.rollupDebounce = .milliseconds(500) }
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let ids = try await Self.buildAccount(a)
            try Self.refresh(server)
            for code in ["P", "C1", "C2", "C3", "G"] {
                let materialized = try #require(try await a.call("engagement.rollup", ["id": ids[code]!])["result"])
                let live = try #require(try await a.call("engagement.rollup", ["id": ids[code]!, "fresh": true])["result"])
                #expect(materialized["source"] == "materialized" && live["source"] == "live")
                func comparable(_ value: JSONValue) -> String {
                    guard case .object(var object) = value else { return "" }
                    object["as_of"] = nil
                    object["source"] = nil
                    return JSONWriter.string(.object(object))
                }
                #expect(comparable(materialized) == comparable(live), "\(code)")
            }
            // A write notifies the server, which refreshes after its debounce: the materialized answer catches up.
            #expect(try await Self.raiseRiskAndWait(a, ids) == 3, "the listener refreshed the rollups after the write")
            try await server.stop()
        }
    }

    @Test("staleness: an organisation a debounce after its first write; a pause of twice the refresh; skipped ones again; a round of every organisation on (re)connection, beside them")
    func staleness() throws {
        let (a, b) = (UUID(), UUID())
        let t0 = ContinuousClock.now
        var state = RollupStaleness(debounce: .seconds(2))
        // (#expect evaluates its expression in a closure, which cannot mutate the state: these step it.)
        func due(_ at: Duration) -> [UUID]? { state.due(at: t0 + at)?.organisations }
        func round(_ at: Duration) -> Bool { state.startRound(at: t0 + at) }
        state.stale(a, at: t0)
        state.stale(a, at: t0 + .seconds(1))
        state.stale(b, at: t0 + .seconds(1))
        #expect(due(.milliseconds(1999)) == nil, "within the debounce of A's first write")
        let first = state.due(at: t0 + .seconds(2))
        #expect(first?.organisations == [a] && first?.since == t0, "A only: B's burst began later")
        // The refresh took 1 s: nothing for 2 s after it, then B; B was refreshing elsewhere, so it is stale again.
        state.finished(skipped: [], started: t0 + .seconds(2), now: t0 + .seconds(3))
        #expect(due(.milliseconds(4999)) == nil, "a pause of twice the refresh")
        #expect(due(.seconds(5)) == [b])
        state.finished(skipped: [b], started: t0 + .seconds(5), now: t0 + .seconds(5))
        #expect(due(.milliseconds(6999)) == nil)
        #expect(due(.seconds(7)) == [b])
        state.finished(skipped: [], started: t0 + .seconds(7), now: t0 + .seconds(7))
        #expect(state.isIdle)
        // A (re)connection or a write without an organisation: a round, after the debounce; organisations written
        // meanwhile are refreshed beside it, and a second call for a round waits for the first to end.
        state.stale(nil, at: t0 + .seconds(8))
        #expect(!round(.seconds(9)))
        #expect(round(.seconds(10)) && state.roundRunning)
        state.stale(a, at: t0 + .seconds(11))
        state.stale(nil, at: t0 + .seconds(11))
        #expect(due(.seconds(13)) == [a], "A's write does not wait for the round")
        #expect(!round(.seconds(14)), "one round at a time")
        state.roundFinished(skipped: [b], now: t0 + .seconds(15))
        #expect(round(.seconds(15)), "the round asked for meanwhile")
        #expect(due(.seconds(17)) == [b], "what the round found refreshing elsewhere")
        state.roundFinished(skipped: [], now: t0 + .seconds(18))
        #expect(state.isIdle)
    }

    @Test("a write refreshes its own organisation's rollups only: the other's rows and refreshes are untouched")
    func perOrganisation() async throws {
        let server = try await ServerFixture.start("rollup-per-organisation") { $0.rollupDebounce = .milliseconds(300) }
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let ids = try await Self.buildAccount(a)
            let worldB = try await EngagementWorld.make(b, prefix: "B-")
            _ = try await worldB.engagement(b, code: "B1")
            try Self.refresh(server)
            let owner = try server.ownerConnection()
            defer { owner.close() }
            func state(_ organisation: ServerFixture.Organisation) throws -> (refreshes: Int, asOf: String) {
                let refreshes = try owner.query("SELECT count(*) FROM rollup.refreshes WHERE organisation_id = $1::uuid", [organisation.id])
                let asOf = try owner.query("SELECT max(as_of)::text FROM rollup.engagement_summary WHERE organisation_id = $1::uuid", [organisation.id])
                return (refreshes.int(0, 0) ?? -1, asOf.string(0, 0) ?? "")
            }
            // The refresher's own rounds (its first, and those of the writes above) are over once nothing changes
            // for a while (many debounces).
            var settled = (try state(server.orgA), try state(server.orgB))
            for _ in 0..<20 {
                try await Task.sleep(for: .milliseconds(1500))
                let now = (try state(server.orgA), try state(server.orgB))
                if now.0 == settled.0 && now.1 == settled.1 { break }
                settled = now
            }
            let (beforeA, beforeB) = settled
            #expect(!beforeB.asOf.isEmpty, "B's rollups are maintained")
            #expect(try await Self.raiseRiskAndWait(a, ids) == 3, "A's write reached A's maintained rollup")
            let (afterA, afterB) = (try state(server.orgA), try state(server.orgB))
            #expect(afterA.refreshes > beforeA.refreshes && afterA.asOf > beforeA.asOf, "A refreshed: \(beforeA) → \(afterA)")
            #expect(afterB.refreshes == beforeB.refreshes && afterB.asOf == beforeB.asOf, "B untouched: \(beforeB) → \(afterB)")
        }
    }

    @Test("no client role can read the maintained rollups; DBAs read their organisation's rollups")
    func privileges() async throws {
        // Also: with the periodic maintenance and the rollup listener both turned off, the server keeps serving.
        let server = try await ServerFixture.start("rollup-privileges") { $0.maintenanceInterval = .zero }
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            _ = try await Self.buildAccount(a)
            let worldB = try await EngagementWorld.make(b, prefix: "B-")
            _ = try await worldB.engagement(b, code: "B1")
            try Self.refresh(server)

            let superuser = try server.superuserConnection()
            defer { superuser.close() }
            for role in ["engagement_app", "engagement_reporting"] {
                for view in ["engagement_summary", "engagement_monthly", "engagement_finance", "engagement_work"] {
                    do {
                        try superuser.executeScript("SET ROLE \(role)")
                        defer { try? superuser.executeScript("RESET ROLE") }
                        _ = try superuser.query("SELECT count(*) FROM rollup.\(view)")
                        Issue.record("\(role) read rollup.\(view)")
                    } catch {
                        #expect((error as? PostgresError)?.serverError?.sqlState == .insufficientPrivilege, "\(role) \(view): \(error)")
                    }
                }
            }
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let roleB = try TenantAdministrator(owner: owner).createReportingRole(
                organisationID: server.orgB.id, name: "rpt_rollup_\(UUID().uuidString.prefix(8).lowercased())")
            let dba = try PostgresConnection.connect(
                try Conninfo.replacing(["user": roleB.name, "password": roleB.password], in: try server.deployment.superuserURL))
            defer { dba.close() }
            do {
                _ = try dba.query("SELECT * FROM rollup.engagement_summary")
                Issue.record("a DBA read the maintained rollups")
            } catch {
                #expect((error as? PostgresError)?.serverError?.sqlState == .insufficientPrivilege)
            }
            let rows = try dba.query("SELECT engagement_code, engagements FROM reporting.engagement_rollup")
            #expect(rows.rowCount == 1 && rows.string(0, 0) == "B1", "only B's engagement")
            #expect(try dba.query("SELECT count(*) FROM reporting.engagement_rollup_monthly").int(0, 0) == 0)
            let aRows = try owner.query("SELECT count(*) FROM rollup.engagement_summary WHERE organisation_id = $1::uuid", [server.orgA.id])
            #expect(aRows.int(0, 0) == 5, "A's rollups exist; B's DBA just cannot see them")
        }
    }
}
