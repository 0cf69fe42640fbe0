import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Renewals (the signal once per contract, the automatic opportunity, delivery proposing one, by hand and by a
/// trigger rule), retention worked by hand, contract health and the satisfaction distribution.
@Suite("Renewals, contract health and satisfaction")
struct RenewalTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

    static func contract(_ client: RPCConnection, _ world: EngagementWorld, _ reference: String, value: Int, end: String,
                         start: String = "2025-01-01") async throws -> JSONValue {
        let reply = try await client.call("contract.create", [
            "customer_party_id": world.customer["id"]!, "reference": .string(reference), "title": .string("Contract \(reference)"),
            "contract_type": "fixed_fee", "total_value": .number(String(value)), "currency": "EUR", "start_date": .string(start),
            "end_date": .string(end), "status": "active"])
        return try #require(reply["result"], "\(JSONWriter.string(reply))")
    }

    @Test("contracts entering the window are signalled once, on the timeline; with the setting, the renewal opportunity is opened once")
    func signals() async throws {
        let server = try await ServerFixture.start("renewal-signals")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let soon = try await Self.contract(client, world, "SOON", value: 1000, end: "2025-06-30")
            _ = try await Self.contract(client, world, "LATER", value: 2000, end: "2025-12-31")
            let engagement = try await world.engagement(client, code: "SOON-E", extra: ["contract_id": soon["id"]!])
            let owner = try server.ownerConnection()
            defer { owner.close() }
            // 1 June 2025 with the default window of 90 days: SOON is due, LATER is not.
            #expect(try owner.query("SELECT app.sweep_renewals('2025-06-01')").int(0, 0) == 1)
            #expect(try owner.query("SELECT app.sweep_renewals('2025-06-02')").int(0, 0) == 0, "once per contract and end date")
            let entries = try #require(try await client.call("timeline.list", ["engagement_id": engagement["id"]!, "types": ["renewal_due"]])["result"]?["items"]?.arrayValue)
            #expect(entries.count == 1 && entries[0]["title"] == "Contract SOON ends on 2025-06-30: renewal due")
            #expect(try await client.call("opportunity.list")["result"]?["items"]?.arrayValue?.isEmpty == true, "not opened without the setting")

            let settings = try #require(try await client.call("commercial.set_settings", [
                "renewal_window_days": 240, "auto_renewal_opportunities": true])["result"])
            #expect(settings["renewal_window_days"] == 240 && settings["auto_renewal_opportunities"] == true)
            #expect(try owner.query("SELECT app.sweep_renewals('2025-06-01')").int(0, 0) == 1)
            let opened = try #require(try await client.call("opportunity.list")["result"]?["items"]?.arrayValue)
            #expect(opened.count == 1 && opened[0]["kind"] == "renewal" && opened[0]["title"] == "Renewal: Contract LATER"
                    && opened[0]["value"] == .number("2000.00") && opened[0]["expected_close_date"] == "2025-12-31"
                    && opened[0]["stage"] == "qualifying", "\(opened.map(JSONWriter.string))")
            #expect(try owner.query("SELECT app.sweep_renewals('2025-06-03')").int(0, 0) == 0)
            let signals = try owner.query("SELECT count(*), count(opportunity_id) FROM app.renewal_signals WHERE organisation_id = $1::uuid", [server.orgA.id])
            #expect(signals.int(0, 0) == 2 && signals.int(0, 1) == 1)
        }
    }

    @Test("delivery proposes a renewal once, by hand or by a trigger rule; retention over a window, worked by hand")
    func proposalsAndRetention() async throws {
        let server = try await ServerFixture.start("renewal-retention") { $0.triggerPollInterval = .milliseconds(500) }
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let c1 = try await Self.contract(client, world, "C1", value: 100, end: "2025-03-31")
            let c2 = try await Self.contract(client, world, "C2", value: 50, end: "2025-04-30")
            _ = try await Self.contract(client, world, "C3", value: 30, end: "2025-05-31")
            let c4 = try await Self.contract(client, world, "C4", value: 20, end: "2025-05-15")
            let e1 = try await world.engagement(client, code: "E1", extra: ["contract_id": c1["id"]!])
            let e2 = try await world.engagement(client, code: "E2", extra: ["contract_id": c2["id"]!])
            let e4 = try await world.engagement(client, code: "E4", extra: ["contract_id": c4["id"]!])

            let proposed = try #require(try await client.call("engagement.propose_renewal", ["id": e1["id"]!])["result"])
            #expect(proposed["kind"] == "renewal" && proposed["renews_engagement_id"] == e1["id"]! && proposed["renews_contract_id"] == c1["id"]!
                    && proposed["value"] == .number("100.00") && proposed["currency"] == "EUR" && proposed["expected_close_date"] == "2025-03-31")
            let again = try #require(try await client.call("engagement.propose_renewal", ["id": e1["id"]!, "value": 5])["result"])
            #expect(again["id"] == proposed["id"]!, "the open one is returned as it is")
            // C1 retained: its renewal won; C2 churned: its renewal lost; C3 churned: ended without one; C4 pending: one is open.
            #expect(try await client.call("opportunity.win", [
                "id": proposed["id"]!, "version": proposed["version"]!, "engagement": ["code": "E1-R"]])["result"] != nil)
            let lost = try #require(try await client.call("engagement.propose_renewal", ["id": e2["id"]!])["result"])
            #expect(try await client.call("opportunity.move", [
                "id": lost["id"]!, "version": lost["version"]!, "stage": "closed_lost", "reason": "budget cut"])["result"] != nil)
            // A trigger rule proposes the renewal of E4 when it enters the renewal stage.
            #expect(try await client.call("trigger_rule.create", [
                "name": "Renewal stage", "event": "stage_changed", "condition": ["stages": ["renewal"]],
                "actions": [["action": "propose_renewal"]]])["result"] != nil)
            #expect(try await client.call("engagement.set_stage", ["id": e4["id"]!, "version": e4["version"]!, "stage": "renewal"])["result"] != nil)
            var renewals: [JSONValue] = []
            for _ in 0..<60 {
                renewals = try #require(try await client.call("opportunity.list", ["kind": "renewal", "open": true])["result"]?["items"]?.arrayValue)
                if !renewals.isEmpty { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(renewals.count == 1 && renewals[0]["renews_engagement_id"] == e4["id"]!, "\(renewals.map(JSONWriter.string))")

            let report = try #require(try await client.call("report.renewals", ["from": "2025-03", "to": "2025-05"])["result"])
            let states = (report["contracts"]?.arrayValue ?? []).map { "\($0["reference"]?.stringValue ?? "?"):\($0["renewal_state"]?.stringValue ?? "?")" }
            #expect(states == ["C1:retained", "C2:churned", "C4:pending", "C3:churned"], "\(states)")
            let months = try #require(report["months"]?.arrayValue)
            #expect(months.map { $0["month"]?.stringValue } == ["2025-03", "2025-04", "2025-05"] && months[2]["contracts"] == 2
                    && months[2]["value"]?["EUR"] == .number("50.00"))
            // Up for renewal 200, churned 50 + 30: retention 1 − 80/200 = 0.6; of the closed ones 100/180.
            let retention = try #require(report["retention"]?[0])
            #expect(retention["up_for_renewal"] == .number("200.00") && retention["churned"] == .number("80.00")
                    && retention["retention"] == .number("0.6000") && retention["closed_retention"] == .number("0.5556"),
                    "\(JSONWriter.string(retention))")
            let backwards = try await client.call("report.renewals", ["from": "2025-05", "to": "2025-03"])
            #expect(backwards.errorCode == -32602 && path(backwards) == "params.to")
            let noContract = try await client.call("engagement.propose_renewal", ["id": try await world.engagement(client, code: "BARE")["id"]!])
            #expect(noContract.errorCode == -32602 && path(noContract) == "params.currency")
        }
    }

    @Test("contract health gathers health, risks, commitments, SLA credits and renewal; satisfaction per service, worked by hand")
    func healthAndSatisfaction() async throws {
        let server = try await ServerFixture.start("contract-health")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let contract = try await Self.contract(client, world, "HEALTH", value: 365000, end: "2025-12-31")
            #expect(try await client.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "Availability", "target": .number("99.9"), "comparison": ">=", "measurement_period": "monthly",
                "penalty": ["tiers": [["threshold": .number("99.9"), "credit_percent": 10]]]])["result"] != nil)
            var active: [JSONValue] = []
            for (code, values) in [("H1", ["99", "98"]), ("H2", ["97"])] {
                let engagement = try #require(try await client.move(try await world.engagement(client, code: code, extra: ["contract_id": contract["id"]!]), to: "active")["result"])
                for (index, value) in values.enumerated() {
                    #expect(try await client.call("checkin.submit", [
                        "engagement_id": engagement["id"]!, "period": .string("2025-0\(index + 1)"),
                        "kpis": [["kpi": "Availability", "actual": .number(value)]]])["result"] != nil)
                }
                active.append(engagement)
            }
            #expect(try await client.call("risk.raise", ["engagement_id": active[0]["id"]!, "title": "Key person leaves", "probability": "high", "impact": "high"])["result"] != nil)
            #expect(try await client.call("commitment.create", [
                "contract_id": contract["id"]!, "kind": "hours", "title": "Support hours", "hours": 10, "end_date": "2025-01-31"])["result"] != nil)

            let report = try #require(try await client.call("report.contract_health")["result"])
            let item = try #require(report["contracts"]?[0])
            #expect(report["contracts"]?.arrayValue?.count == 1 && item["contract"]?["reference"] == "HEALTH")
            #expect(item["health"]?["engagements"]?.arrayValue?.count == 2 && item["health"]?["band"] != "unknown")
            #expect(item["risks"]?["open"] == 1 && item["risks"]?["by_severity"]?["high"] == 1)
            #expect(item["commitments"]?["delivered"] == false && item["commitments"]?["by_status"]?["lapsed"] == 1)
            // Fee: 365,000 × days/365 shared by two engagements: 15,500 in January, 14,000 in February; 10 % of each breached month.
            #expect(item["sla"]?["breached_periods"] == 3 && item["sla"]?["credits"] == .number("4500.00"), "\(JSONWriter.string(item["sla"] ?? .null))")
            #expect(item["renewal"]?["state"] == "churned", "ended without a renewal")
            #expect(report["summary"]?["contracts"] == 1)
            let mean = try #require(item["health"]?["mean"])
            #expect(report["summary"]?["health_weighted_by_value"]?["EUR"] == mean, "one contract: the weighted mean is its mean")

            let satisfaction = try #require(try await client.call("report.satisfaction", ["kpi": "availability"])["result"]?["services"]?[0])
            #expect(satisfaction["engagements"] == 2 && satisfaction["values"] == 3 && satisfaction["mean"] == .number("98.00")
                    && satisfaction["median"] == .number("98.00") && satisfaction["p25"] == .number("97.50") && satisfaction["p75"] == .number("98.50")
                    && satisfaction["min"] == 97 && satisfaction["max"] == 99, "\(JSONWriter.string(satisfaction))")
            #expect(satisfaction["by_month"]?.arrayValue?.map { $0["mean"] } == [.number("98.00"), .number("98.00")])
            let janOnly = try #require(try await client.call("report.satisfaction", ["kpi": "Availability", "to": "2025-01"])["result"]?["services"]?[0])
            #expect(janOnly["values"] == 2)
        }
    }
}
