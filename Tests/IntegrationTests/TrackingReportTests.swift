import EngagementClient
import Foundation
import JSONRPC
import Testing

@Suite("Attribution and tracking reports")
struct TrackingReportTests {
    @Test("items are attributed to their own party, else the period's, else the default deliverer; showback sums by party")
    func attributionAndShowback() async throws {
        let server = try await ServerFixture.start("attribution")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            var tracked = try await TrackedEngagement.make(a)
            let partner = tracked.world.partner["id"]!
            tracked.engagement = try #require(try await a.call("engagement.add_deliverer", [
                "id": tracked.id, "party_id": partner, "role": "subcontractor"])["result"])
            let me = try #require(tracked.engagement["deliverers"]?.arrayValue?.first { $0["party_id"] != partner }?["party_id"])

            let periods = try await a.call("attribution.set", [
                "engagement_id": tracked.id, "party_id": partner, "from_period": "2025-03", "to_period": "2025-04"])
            #expect(periods["result"]?.arrayValue?.count == 1, "\(JSONWriter.string(periods))")
            let overlap = try await a.call("attribution.set", [
                "engagement_id": tracked.id, "party_id": me, "from_period": "2025-04"])
            #expect(overlap.errorCode == -32004 && overlap.errorReason == "overlaps" && overlap.firstErrorPath == "params.from_period")
            let backwards = try await a.call("attribution.set", [
                "engagement_id": tracked.id, "party_id": me, "from_period": "2025-08", "to_period": "2025-07"])
            #expect(backwards.errorCode == -32602 && backwards.firstErrorPath == "params.to_period")
            let stranger = try await a.call("attribution.set", [
                "engagement_id": tracked.id, "party_id": tracked.world.customer["id"]!, "from_period": "2025-09"])
            #expect(stranger.errorCode == -32602 && stranger.firstErrorPath == "params.party_id")

            // The KPI is owned by the partner in every month.
            _ = try await a.call("kpi.define", [
                "engagement_id": tracked.id, "name": "Availability", "target": .number("99.9"), "deliverer_party_id": partner])
            let line: JSONObject = ["category": "labour_cost", "plan": 100, "actual": 120, "currency": "EUR"]
            let february = try await tracked.submit("2025-02", [
                "finance": [.object(line)], "capacity": [["role": "Engineer", "planned_hours": 10, "actual_hours": 12]],
                "kpis": [["kpi": "Availability", "actual": 99]]])
            #expect(february["result"]?["finance"]?[0]?["attributed_party_id"] == me)
            #expect(february["result"]?["kpis"]?[0]?["attributed_party_id"] == partner)
            var own = line
            own["deliverer_party_id"] = me
            let march = try await tracked.submit("2025-03", [
                "finance": [.object(line), .object(own)], "capacity": [["role": "Engineer", "actual_hours": 5]]])
            #expect(march["result"]?["finance"]?[0]?["attributed_party_id"] == partner, "the period's party")
            #expect(march["result"]?["finance"]?[1]?["attributed_party_id"] == me, "the item's own party wins")
            _ = try await tracked.submit("2025-05", ["finance": [.object(line)]])

            let showback = try #require(try await a.call("report.showback", ["engagement_id": tracked.id])["result"]?.arrayValue)
            func row(_ party: JSONValue, _ period: String) -> JSONValue? {
                showback.first { $0["party_id"] == party && $0["period"] == .string(period) }
            }
            #expect(row(me, "2025-02")?["money"]?[0]?["cost_actual"] == .number("120.00"))
            #expect(row(me, "2025-02")?["actual_hours"] == .number("12.00"))
            #expect(row(partner, "2025-02")?["kpis_owned"] == ["Availability"])
            #expect(row(partner, "2025-03")?["money"]?[0]?["cost_actual"] == .number("120.00"))
            #expect(row(partner, "2025-03")?["actual_hours"] == .number("5.00"))
            #expect(row(me, "2025-03")?["money"]?[0]?["cost_plan"] == .number("100.00"))
            #expect(row(me, "2025-05")?["money"]?[0]?["cost_actual"] == .number("120.00"), "after the period the default deliverer again")
            #expect(showback.count == 5, "\(JSONWriter.string(.array(showback)))")
            let partnerOnly = try await a.call("report.showback", ["party_id": partner, "from": "2025-03"])
            #expect(partnerOnly["result"]?.arrayValue?.count == 1)

            let removed = try await a.call("attribution.remove", [
                "engagement_id": tracked.id, "id": periods["result"]![0]!["id"]!])
            #expect(removed["result"] == [])
            let march2 = try await a.call("checkin.get", ["id": march["result"]!["id"]!])
            #expect(march2["result"]?["finance"]?[0]?["attributed_party_id"] == me, "attribution is resolved when read")
        }
    }

    @Test("plan against actual: variance and %, totals per currency, hours, and T&M revenue from hours × rates")
    func planVersusActual() async throws {
        let server = try await ServerFixture.start("plan-vs-actual")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let contract = try #require(try await a.call("contract.create", [
                "customer_party_id": tracked.world.customer["id"]!, "reference": "TM-1", "title": "Hours",
                "contract_type": "time_and_materials", "total_value": 50000, "currency": "GBP", "start_date": "2025-01-01",
            ])["result"])
            _ = try await a.call("contract.set_rate", ["id": contract["id"]!, "rate_key": "engineer", "rate_per_hour": .number("95.50")])
            _ = try await a.call("engagement.update", [
                "id": tracked.id, "version": tracked.engagement["version"]!, "contract_id": contract["id"]!])
            _ = try await tracked.submit("2025-01", [
                "finance": [
                    ["category": "revenue", "plan": 2000, "actual": 1800],
                    ["category": "labour_cost", "plan": 800, "actual": 1000],
                    ["category": "licences", "plan": 200, "actual": 200],
                ],
                "capacity": [["role": "Engineer", "planned_hours": 20, "actual_hours": 18], ["role": "Analyst", "actual_hours": 4]],
            ])
            _ = try await tracked.submit("2025-02", ["finance": [["category": "labour_cost", "plan": 800, "actual": 600]]])

            let report = try #require(try await a.call("report.plan_vs_actual", ["engagement_id": tracked.id])["result"])
            let labourJanuary = report["lines"]?.arrayValue?.first { $0["period"] == "2025-01" && $0["category"] == "labour_cost" }
            #expect(labourJanuary?["variance"] == .number("200.00"))
            #expect(labourJanuary?["variance_percent"] == .number("25.00"))
            #expect(report["totals"]?[0]?["currency"] == "GBP")
            #expect(report["totals"]?[0]?["cost_plan"] == .number("1800.00"))
            #expect(report["totals"]?[0]?["cost_actual"] == .number("1800.00"))
            #expect(report["totals"]?[0]?["cost_variance_percent"] == .number("0.00"))
            #expect(report["totals"]?[0]?["revenue_actual"] == .number("1800.00"))
            #expect(report["derived_revenue"]?[0]?["plan"] == .number("1910.0000"), "20 h × 95.50")
            #expect(report["derived_revenue"]?[0]?["actual"] == .number("1719.0000"), "18 h × 95.50")
            #expect(report["unrated_roles"] == ["Analyst"])
            #expect(report["hours"]?.arrayValue?.first { $0["role"] == "Engineer" }?["utilisation_percent"] == .number("90.00"))
            let february = try await a.call("report.plan_vs_actual", ["engagement_id": tracked.id, "from": "2025-02"])
            #expect(february["result"]?["lines"]?.arrayValue?.count == 1)
        }
    }
}
