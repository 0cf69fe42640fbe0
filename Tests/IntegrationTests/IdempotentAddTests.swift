import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Adds that are not idempotent by nature take an idempotency key: a retry with the same key replays the first
/// reply and writes nothing more; the same key with other params is refused.
@Suite("Idempotent adds")
struct IdempotentAddTests {
    @Test("action items, outcomes, initiatives, SLA terms and playbook starts: a retried add writes once")
    func retries() async throws {
        let server = try await ServerFixture.start("idempotent-adds")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let touchpoint = try #require(try await a.call("touchpoint.create", [
                "engagement_id": tracked.id, "kind": "qbr", "title": "Review", "held_at": "2025-03-01T10:00:00Z"])["result"])
            let objective = try #require(try await a.call("objective.create", ["engagement_id": tracked.id, "title": "Goal"])["result"])
            let contract = try #require(try await a.call("contract.create", [
                "customer_party_id": tracked.world.customer["id"]!, "reference": "K-9", "title": "K", "contract_type": "fixed_fee",
                "total_value": 10, "currency": "EUR", "start_date": "2025-01-01"])["result"])
            let playbook = try #require(try await a.call("playbook.create", ["name": "Play", "steps": [["title": "Do"]]])["result"])
            let calls: [(String, JSONObject)] = [
                ("action_item.add", ["touchpoint_id": touchpoint["id"]!, "title": "Send minutes"]),
                ("outcome.add", ["objective_id": objective["id"]!, "title": "NPS", "target": 40]),
                ("initiative.add", ["objective_id": objective["id"]!, "title": "Survey", "type": "adoption"]),
                ("contract.add_sla_term", ["id": contract["id"]!, "metric": "availability", "target": 99, "comparison": ">=",
                                           "measurement_period": "monthly"]),
                ("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": tracked.id]),
            ]
            for (method, params) in calls {
                var keyed = params
                keyed["idempotency_key"] = .string("retry-\(method)")
                let first = try await a.call(method, .object(keyed))
                let again = try await a.call(method, .object(keyed))
                #expect(first["result"] != nil && first["result"] == again["result"], "\(method): \(JSONWriter.string(again))")
                keyed["idempotency_key"] = .string("retry-\(method)")
                keyed["title"] = "Something else"
                if method != "contract.add_sla_term" && method != "playbook.start" {
                    let reused = try await a.call(method, .object(keyed))
                    #expect(reused.errorCode == -32004 && reused.errorReason == "idempotency_key_reused", "\(method)")
                }
            }
            let tp = try #require(try await a.call("touchpoint.get", ["id": touchpoint["id"]!])["result"])
            #expect(tp["action_items"]?.arrayValue?.count == 1)
            let goal = try #require(try await a.call("objective.get", ["id": objective["id"]!])["result"])
            #expect(goal["outcomes"]?.arrayValue?.count == 1 && goal["initiatives"]?.arrayValue?.count == 1)
            #expect(try await a.call("contract.get", ["id": contract["id"]!])["result"]?["sla_terms"]?.arrayValue?.count == 1)
            #expect(try await a.call("playbook_run.list", ["engagement_id": tracked.id])["result"]?.arrayValue?.count == 1)
        }
    }
}
