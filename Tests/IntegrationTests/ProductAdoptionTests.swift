import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Products, capabilities and adoption per engagement and month, with scores worked by hand.
@Suite("Product adoption")
struct ProductAdoptionTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

    @Test("licence utilisation, capability scores, coverage and the adoption score, as documented")
    func scores() async throws {
        let server = try await ServerFixture.start("adoption")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let product = try #require(try await client.call("product.create", [
                "name": "Security Suite", "capabilities": [
                    ["name": "SSO", "usage_target": 100], ["name": "Audit", "usage_target": 50], ["name": "DLP", "usage_target": 10],
                ]])["result"])
            #expect(product["capabilities"]?.arrayValue?.count == 3)
            let month = try #require(try await client.call("adoption.record", [
                "engagement_id": tracked.id, "product_id": product["id"]!, "period": "2025-03",
                "licences_purchased": 40, "licences_active": 30,
                "usage": [["capability": "sso", "count": 150], ["capability": "Audit", "count": 20]]])["result"])
            // Utilisation 30/40 = 75. Scores: SSO min(100, 150) = 100, Audit 40, DLP 0 (no usage). Coverage 140/3 = 46.67.
            // Adoption (75 + 46.67) / 2 = 60.835 → 60.84.
            #expect(month["licence_utilisation"] == .number("75.00"))
            let scores = try #require(month["capabilities"]?.arrayValue)
            #expect(scores.map { $0["capability"]?.stringValue ?? "" } == ["Audit", "DLP", "SSO"])
            #expect(scores.map { $0["score"] } == [.number("40.00"), .number("0.00"), .number("100.00")])
            #expect(month["capability_coverage"] == .number("46.67"))
            #expect(month["adoption_score"] == .number("60.84"))
            // Recording the month again replaces it; nothing purchased: no utilisation, the score is the coverage.
            let replaced = try #require(try await client.call("adoption.record", [
                "engagement_id": tracked.id, "product_id": product["id"]!, "period": "2025-03",
                "licences_purchased": 0, "licences_active": 0, "usage": [["capability": "DLP", "count": 10]]])["result"])
            #expect(replaced["licence_utilisation"] == .null && replaced["capability_coverage"] == .number("33.33"))
            #expect(replaced["adoption_score"] == .number("33.33"))
            let report = try #require(try await client.call("adoption.report", ["engagement_id": tracked.id])["result"]?.arrayValue)
            #expect(report.count == 1 && report[0]["adoption_score"] == .number("33.33"))
            // A capability with usage stays; one without goes.
            let inUse = try await client.call("product.remove_capability", ["id": product["id"]!, "name": "DLP"])
            #expect(inUse.errorCode == -32004 && inUse.errorReason == "in_use")
            _ = try await client.call("product.set_capability", ["id": product["id"]!, "name": "Backup", "usage_target": 5])
            let removed = try #require(try await client.call("product.remove_capability", ["id": product["id"]!, "name": "backup"])["result"])
            #expect(removed["capabilities"]?.arrayValue?.count == 3)
        }
    }

    @Test("adoption drives a health model's score and raises and resolves a rule's signal, through the existing machinery")
    func healthAndRisk() async throws {
        let server = try await ServerFixture.start("adoption-signals")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let product = try #require(try await client.call("product.create", [
                "name": "Security Suite", "capabilities": [["name": "SSO", "usage_target": 100], ["name": "DLP", "usage_target": 10]]])["result"])
            // "Product usage drives 30%, licence utilisation another 10%", KPI attainment the rest.
            let model = try #require(try await client.call("health_model.create", [
                "name": "Adoption-led", "metrics": [
                    ["metric": "kpi_attainment", "weight": 60],
                    ["metric": "capability_coverage", "product": "security suite", "weight": 30],
                    ["metric": "licence_utilisation", "weight": 10],
                ]])["result"], "health_model.create")
            #expect(try await client.call("engagement.set_health_model", ["id": tracked.id, "model_id": model["id"]!])["result"] != nil)
            let rule = try #require(try await client.call("risk_rule.create", [
                "name": "Low DLP usage", "condition": "capability_usage", "product": "Security Suite", "capability": "dlp",
                "comparison": "<", "threshold": 50, "title": "DLP is barely used"])["result"], "risk_rule.create")
            #expect(rule["product"] == "Security Suite" && rule["capability"] == "dlp")

            _ = try #require(try await tracked.submit("2025-03", ["kpis": [["kpi": "Availability", "actual": .number("99.9")]]])["result"])
            // SSO 80 of 100 = 80, DLP 2 of 10 = 20: coverage 50; licences 45 of 50 = 90; KPI attainment 100.
            _ = try #require(try await client.call("adoption.record", [
                "engagement_id": tracked.id, "product_id": product["id"]!, "period": "2025-03", "licences_purchased": 50,
                "licences_active": 45, "usage": [["capability": "SSO", "count": 80], ["capability": "DLP", "count": 2]]])["result"])
            let explained = try #require(try await client.call("health.explain", ["engagement_id": tracked.id, "as_of": "2025-04-05T00:00:00Z"])["result"])
            let metrics = try #require(explained["metrics"]?.arrayValue)
            #expect(metrics.map { $0["normalised"] } == [.number("100.00"), .number("50.00"), .number("90.00")], "\(JSONWriter.string(explained))")
            // (60 × 100 + 30 × 50 + 10 × 90) / 100 = 84.
            #expect(explained["monthly_score"] == .number("84.00"))
            let signals = try #require(try await client.call("risk.list", ["engagement_id": tracked.id, "source": "rule"])["result"]?["items"]?.arrayValue)
            #expect(signals.map { $0["title"] } == ["DLP is barely used"] && signals.first?["status"] == "open")
            #expect(signals.first?["description"]?.stringValue?.contains("capability usage of Security Suite / dlp < 50 (observed 20.00)") == true,
                    "\(signals.first.map(JSONWriter.string) ?? "")")

            // DLP picks up: the month is rescored and the signal resolves.
            _ = try #require(try await client.call("adoption.record", [
                "engagement_id": tracked.id, "product_id": product["id"]!, "period": "2025-03", "licences_purchased": 50,
                "licences_active": 45, "usage": [["capability": "SSO", "count": 80], ["capability": "DLP", "count": 8]]])["result"])
            let rescored = try await client.call("health.history", ["engagement_id": tracked.id])["result"]?[0]?["score"]
            #expect(rescored == .number("93.00"), "coverage (80 + 80) / 2 = 80: (60 × 100 + 30 × 80 + 10 × 90) / 100")
            let resolved = try #require(try await client.call("risk.list", ["engagement_id": tracked.id, "source": "rule"])["result"]?["items"]?.arrayValue)
            #expect(resolved.first?["status"] == "resolved")
            // Deleting the rule keeps the signal it raised, without the link (app.clear_references).
            #expect(try await client.call("risk_rule.delete", ["id": rule["id"]!, "version": rule["version"]!])["result"]?["deleted"] == true)
            let kept = try #require(try await client.call("risk.get", ["id": resolved[0]["id"]!])["result"])
            #expect(kept["rule_id"] == .null && kept["status"] == "resolved", "\(JSONWriter.string(kept))")

            // Bad names are refused with their path.
            let unknownProduct = try await client.call("risk_rule.create", [
                "name": "x", "condition": "adoption_score", "product": "Nope", "comparison": "<", "threshold": 1, "title": "x"])
            #expect(unknownProduct.errorCode == -32602 && path(unknownProduct) == "params.product")
            let noCapability = try await client.call("health_model.create", [
                "name": "y", "metrics": [["metric": "capability_usage", "product": "Security Suite", "weight": 1]]])
            #expect(noCapability.errorCode == -32602 && path(noCapability) == "params.metrics[0].capability")
            let misplaced = try await client.call("risk_rule.create", [
                "name": "z", "condition": "health_score", "product": "Security Suite", "comparison": "<", "threshold": 1, "title": "z"])
            #expect(misplaced.errorCode == -32602 && path(misplaced) == "params.product")
        }
    }

    @Test("unknown capabilities, months outside the engagement, negative usage and zero targets name their path; nothing is written")
    func badInput() async throws {
        let server = try await ServerFixture.start("adoption-bad")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let product = try #require(try await client.call("product.create", [
                "name": "Analytics", "capabilities": [["name": "Dashboards", "usage_target": 10]]])["result"])
            let base: JSONObject = ["engagement_id": tracked.id, "product_id": product["id"]!, "period": "2025-04",
                                    "licences_purchased": 5, "licences_active": 5]
            func record(_ changes: JSONObject) async throws -> JSONValue {
                var params = base
                for member in changes.members { params[member.key] = member.value }
                return try await client.call("adoption.record", .object(params))
            }
            let unknown = try await record(["usage": [["capability": "Dashboards", "count": 1], ["capability": "Reports", "count": 1]]])
            #expect(unknown.errorCode == -32602 && path(unknown) == "params.usage[1].capability")
            let outside = try await record(["period": "2027-01"])
            #expect(outside.errorCode == -32602 && path(outside) == "params.period")
            let negative = try await record(["usage": [["capability": "Dashboards", "count": -1]]])
            #expect(negative.errorCode == -32602 && path(negative) == "params.usage[0].count")
            let missingProduct = try await record(["product_id": .string(UUID().uuidString.lowercased())])
            #expect(missingProduct.errorCode == -32602 && path(missingProduct) == "params.product_id")
            #expect(try await client.call("adoption.report", ["engagement_id": tracked.id])["result"] == [], "nothing written")
            let zero = try await client.call("product.create", ["name": "X", "capabilities": [["name": "a", "usage_target": 0]]])
            #expect(zero.errorCode == -32602 && path(zero) == "params.capabilities[0].usage_target")
        }
    }
}
