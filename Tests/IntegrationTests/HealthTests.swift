import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

@Suite("Health framework")
struct HealthTests {
    /// A model exercising every metric kind; capacity gets no data in the examples, so it is left out.
    static let customModel: JSONObject = [
        "name": "Custom",
        "metrics": [
            ["metric": "kpi_attainment", "weight": 2],
            ["metric": "kpi", "kpi": "NPS", "weight": 1, "full_at": 9, "zero_at": 0],
            ["metric": "budget_variance", "weight": 1],
            ["metric": "capacity_utilisation", "weight": 1],
        ],
    ]

    /// Availability 99.9 of 99.9 → 100 %; response time 5 h against ≤ 4 h → 80 %; NPS 6 of 8 → 75 %.
    /// kpi_attainment = mean(100, 80, 75) = 85 → (85 − 50) / (100 − 50) × 100 = 70.
    /// NPS on its own scale 0…9: 6 → 66.67. Budget: cost plan 1500, actual 1600 → +6.67 % → (6.67 − 25) / (0 − 25)
    /// × 100 = 73.33. Capacity: no data, left out. Score = (2 × 70 + 66.67 + 73.33) / 4 = 70.00 → green.
    static func submitExample(_ tracked: TrackedEngagement, _ period: String) async throws -> JSONValue {
        try await tracked.submit(period, [
            "kpis": [["kpi": "Availability", "actual": .number("99.9")], ["kpi": "Response time", "actual": 5], ["kpi": "NPS", "actual": 6]],
            "finance": [["category": "labour_cost", "plan": 1000, "actual": 1100, "currency": "EUR"],
                        ["category": "licences", "plan": 500, "actual": 500, "currency": "EUR"],
                        ["category": "revenue", "plan": 3000, "actual": 1, "currency": "EUR"]],
        ])
    }

    static func prepare(_ client: RPCConnection) async throws -> (TrackedEngagement, JSONValue) {
        var tracked = try await TrackedEngagement.make(client)
        _ = try await client.call("kpi.define", ["engagement_id": tracked.id, "name": "NPS", "target": 8])
        _ = try await client.call("kpi.define", [
            "engagement_id": tracked.id, "name": "Response time", "unit": "h", "target": 4, "direction": "lower_is_better"])
        let model = try #require(try await client.call("health_model.create", .object(customModel))["result"])
        let assigned = try await client.call("engagement.set_health_model", ["id": tracked.id, "model_id": model["id"]!])
        #expect(assigned["result"]?["effective_model"]?["name"] == "Custom", "\(JSONWriter.string(assigned))")
        tracked.engagement = try #require(try await client.call("engagement.get", ["id": tracked.id])["result"])
        return (tracked, model)
    }

    @Test("the score is the weighted mean of normalised metrics with data; missing metrics are left out and explained")
    func arithmetic() async throws {
        let server = try await ServerFixture.start("health-arithmetic")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let (tracked, _) = try await Self.prepare(a)
            #expect(try await Self.submitExample(tracked, "2025-01")["result"] != nil)

            let explained = try #require(try await a.call("health.explain", ["engagement_id": tracked.id, "as_of": "2025-02-10T00:00:00Z"])["result"])
            #expect(explained["monthly_score"] == .number("70.00"), "\(JSONWriter.string(explained))")
            #expect(explained["score"] == .number("70.00") && explained["band"] == "green")
            let metrics = try #require(explained["metrics"]?.arrayValue)
            #expect(metrics.map { $0["normalised"] } == [.number("70.00"), .number("66.67"), .number("73.33"), .null])
            #expect(metrics[0]["raw"] == .number("85.00"))
            #expect(metrics[2]["raw"] == .number("6.67"))
            #expect(metrics.map { $0["effective_weight"] } == [.number("0.5000"), .number("0.2500"), .number("0.2500"), 0])
            #expect(explained["left_out"] == ["capacity_utilisation"])
            #expect(explained["explanation"]?.stringValue?.contains("weight redistributed: capacity_utilisation") == true)
            #expect(explained["freshness"]?["decay"] == .number("0.00"))

            let history = try #require(try await a.call("health.history", ["engagement_id": tracked.id])["result"])
            #expect(history[0]?["period"] == "2025-01" && history[0]?["score"] == .number("70.00") && history[0]?["band"] == "green")
            let none = try await a.call("health.explain", ["engagement_id": tracked.id, "as_of": "2024-12-20"])
            #expect(none["result"]?["band"] == "unknown" && none["result"]?["score"] == .null, "no month up to as_of")
        }
    }

    @Test("freshness decay counts active days only: it stops on hold and resumes where it stopped")
    func decayPausesOnHold() async throws {
        let server = try await ServerFixture.start("health-decay")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            var (tracked, _) = try await Self.prepare(a)
            _ = try await Self.submitExample(tracked, "2025-01")
            try await tracked.move(to: "on_hold")
            try await tracked.move(to: "active")
            // Rewrite the status history: active from 1 January, on hold from 1 March to 1 May (UTC).
            let superuser = try server.superuserConnection()
            defer { superuser.close() }
            for (status, at) in [("active", "2025-01-01"), ("on_hold", "2025-03-01"), ("active", "2025-05-01")] {
                _ = try superuser.query(
                    """
                    UPDATE app.engagement_transitions SET changed_at = $3::timestamptz
                    WHERE engagement_id = $1::uuid AND to_status = $2 AND id = (
                        SELECT min(id) FROM app.engagement_transitions WHERE engagement_id = $1::uuid AND to_status = $2
                          AND changed_at > '2026-01-01')
                    """, [tracked.id.stringValue!, status, at + "T00:00:00Z"])
            }
            func explain(_ asOf: String) async throws -> JSONValue {
                try #require(try await a.call("health.explain", ["engagement_id": tracked.id, "as_of": .string(asOf)])["result"])
            }
            // 1 June: 120 days since 1 February, of which 28 (February) + 31 (May) active; 59 − 45 grace = 14 overdue;
            // 10 points per 30 days → 4.67; 70 − 4.67 = 65.33 → amber.
            let june = try await explain("2025-06-01T00:00:00Z")
            #expect(june["freshness"]?["age_days"] == .number("120.00"), "\(JSONWriter.string(june))")
            #expect(june["freshness"]?["active_days"] == .number("59.00"))
            #expect(june["freshness"]?["paused_days"] == .number("61.00"))
            #expect(june["freshness"]?["overdue_days"] == .number("14.00"))
            #expect(june["freshness"]?["decay"] == .number("4.67"))
            #expect(june["score"] == .number("65.33") && june["band"] == "amber")
            // 15 April, on hold since 1 March: only February counted (28 days, within grace): no decay yet...
            #expect(try await explain("2025-04-15T00:00:00Z")["freshness"]?["decay"] == .number("0.00"))
            // ...and 30 April, still on hold, the same: decay does not move while on hold.
            #expect(try await explain("2025-04-30T00:00:00Z")["freshness"]?["active_days"] == .number("28.00"))
            // 16 May: 28 + 15 = 43 active days, still within grace; 20 May: 47 → 2 overdue → 0.67.
            #expect(try await explain("2025-05-16T00:00:00Z")["freshness"]?["decay"] == .number("0.00"))
            #expect(try await explain("2025-05-20T00:00:00Z")["freshness"]?["decay"] == .number("0.67"))
        }
    }

    @Test("scores are recomputed when a check-in (also in psql), a model or an assignment changes")
    func recompute() async throws {
        let server = try await ServerFixture.start("health-recompute")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let (tracked, model) = try await Self.prepare(a)
            let checkIn = try #require(try await Self.submitExample(tracked, "2025-01")["result"])
            func monthly() async throws -> JSONValue? {
                try await a.call("health.history", ["engagement_id": tracked.id])["result"]?[0]?["score"]
            }
            #expect(try await monthly() == .number("70.00"))

            // Only attainment counts now: 70.
            let reweighted = try await a.call("health_model.update", [
                "id": model["id"]!, "version": model["version"]!, "metrics": [["metric": "kpi_attainment", "weight": 1]]])
            #expect(reweighted["result"] != nil, "\(JSONWriter.string(reweighted))")
            #expect(try await monthly() == .number("70.00"))
            // Budget only: 73.33.
            _ = try await a.call("health_model.update", [
                "id": model["id"]!, "version": reweighted["result"]!["version"]!, "metrics": [["metric": "budget_variance", "weight": 1]]])
            #expect(try await monthly() == .number("73.33"))

            // A psql amendment (check-in and item in one transaction) is scored too: cost 1500 → 1875 is +25 % → 0.
            let owner = try server.superuserConnection()
            defer { owner.close() }
            try owner.executeScript("""
                BEGIN;
                UPDATE app.check_ins SET notes = 'corrected in psql' WHERE id = '\(checkIn["id"]!.stringValue!)';
                UPDATE app.finance_lines SET actual = 1375 WHERE check_in_id = '\(checkIn["id"]!.stringValue!)' AND category = 'labour_cost';
                COMMIT;
                """)
            #expect(try await monthly() == .number("0.00"))
            let history = try await a.call("checkin.history", ["id": checkIn["id"]!])
            #expect(history["result"]?[1]?["method"] == "sql")

            // Freshness of the check-in itself: January's was submitted long after 31 January (today), so it scores 0.
            _ = try await a.call("health_model.update", [
                "id": model["id"]!, "version": 3, "metrics": [["metric": "checkin_freshness", "weight": 1]]])
            let late = try await a.call("health.history", ["engagement_id": tracked.id])
            #expect(late["result"]?[0]?["score"] == .number("0.00"), "\(JSONWriter.string(late))")
            if case .number(let raw)? = late["result"]?[0]?["metrics"]?[0]?["raw"] {
                #expect((Double(raw) ?? 0) > 300, "days late: \(raw)")
            } else {
                Issue.record("no raw freshness value")
            }

            // Back to the default model (attainment 50, budget 30, capacity 20): (50 × 70 + 30 × 0) / 80 = 43.75.
            _ = try await a.call("engagement.set_health_model", ["id": tracked.id, "model_id": .null])
            let back = try await a.call("health.history", ["engagement_id": tracked.id])
            #expect(back["result"]?[0]?["score"] == .number("43.75"), "\(JSONWriter.string(back))")
            #expect(back["result"]?[0]?["band"] == "amber")
        }
    }

    @Test("bad models get -32602 with the path; the default and models in use are kept")
    func badModels() async throws {
        let server = try await ServerFixture.start("health-models")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let cases: [(JSONObject, String)] = [
                (["name": "Zero", "metrics": [["metric": "kpi_attainment", "weight": 0]]], "params.metrics"),
                (["name": "Empty", "metrics": []], "params.metrics"),
                (["name": "No KPI", "metrics": [["metric": "kpi", "weight": 1]]], "params.metrics[0].kpi"),
                (["name": "Flat", "metrics": [["metric": "kpi", "kpi": "NPS", "weight": 1, "full_at": 5, "zero_at": 5]]], "params.metrics[0].zero_at"),
                (["name": "Unknown", "metrics": [["metric": "vibes", "weight": 1]]], "params.metrics[0].metric"),
                (["name": "Negative", "metrics": [["metric": "kpi_attainment", "weight": -1]]], "params.metrics[0].weight"),
                (["name": "Bands", "metrics": [["metric": "kpi_attainment", "weight": 1]], "red_below": 80, "amber_below": 60], "params.amber_below"),
            ]
            for (params, path) in cases {
                let reply = try await a.call("health_model.create", .object(params))
                #expect(reply.errorCode == -32602 && reply.firstErrorPath == path, "\(path): \(JSONWriter.string(reply))")
            }
            let models = try #require(try await a.call("health_model.list")["result"]?["items"]?.arrayValue)
            #expect(models.count == 1 && models[0]["name"] == "Standard" && models[0]["is_default"] == true)
            let standard = models[0]
            let deleted = try await a.call("health_model.delete", ["id": standard["id"]!, "version": standard["version"]!])
            #expect(deleted.errorCode == -32007 && deleted.errorReason == "default_model")

            let tracked = try await TrackedEngagement.make(a)
            let other = try #require(try await a.call("health_model.create", [
                "name": "Other", "metrics": [["metric": "kpi_attainment", "weight": 1]]])["result"])
            _ = try await a.call("engagement.set_health_model", ["id": tracked.id, "model_id": other["id"]!])
            let inUse = try await a.call("health_model.delete", ["id": other["id"]!, "version": other["version"]!])
            #expect(inUse.errorCode == -32004 && inUse.errorReason == "in_use")
            // Making another model the default moves the flag.
            let promoted = try await a.call("health_model.update", ["id": other["id"]!, "version": other["version"]!, "is_default": true])
            #expect(promoted["result"]?["is_default"] == true)
            #expect(try await a.call("health_model.get", ["id": standard["id"]!])["result"]?["is_default"] == false)
            let viewerless = try await a.call("engagement.set_health_model", [
                "id": tracked.id, "model_id": .string(UUID().uuidString.lowercased())])
            #expect(viewerless.errorCode == -32602 && viewerless.firstErrorPath == "params.model_id")
        }
    }
}
