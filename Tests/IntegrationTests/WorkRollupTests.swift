import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Work by type and stage over a subtree: objectives, initiatives, playbook tasks, action items and adoption,
/// live and materialized, on RollupTests' account (P with C1, C2, C3; G under C1).
@Suite("Work rollups")
struct WorkRollupTests {
    @Test("a parent's rollup counts its subtree's objectives, initiatives by type and stage, tasks, action items and adoption")
    func work() async throws {
        let server = try await ServerFixture.start("rollup-work")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let ids = try await RollupTests.buildAccount(a)
            func result(_ method: String, _ params: JSONValue) async throws -> JSONValue {
                let reply = try await a.call(method, params)
                return try #require(reply["result"], "\(method): \(JSONWriter.string(reply))")
            }
            // C1: an objective at risk with an onboarding initiative in progress (overdue) and an enablement one done.
            _ = try await result("objective.create", [
                "engagement_id": ids["C1"]!, "title": "Go live", "status": "at_risk",
                "initiatives": [["title": "Migrate", "type": "onboarding", "stage": "in_progress", "due_date": "2025-02-01"],
                                ["title": "Train", "type": "enablement", "stage": "done"]]])
            // G (C1's child): an on-track objective with a planned onboarding initiative, no due date.
            _ = try await result("objective.create", [
                "engagement_id": ids["G"]!, "title": "Adopt", "status": "on_track",
                "initiatives": [["title": "Kick-off", "type": "onboarding"]]])
            // C2: a touchpoint with one overdue and one done action item; a running playbook with two tasks.
            let touchpoint = try await result("touchpoint.create", [
                "engagement_id": ids["C2"]!, "kind": "qbr", "title": "Review", "held_at": "2025-01-15T10:00:00Z",
                "action_items": [["title": "Send plan", "due_date": "2025-01-20"], ["title": "Book next"]]])
            let done = try #require(touchpoint["action_items"]?[1])
            _ = try await result("action_item.update", ["id": done["id"]!, "version": done["version"]!, "done": true])
            let playbook = try await result("playbook.create", ["name": "Onboard", "steps": [["title": "Kick-off"], ["title": "Review", "due_offset_days": 5]]])
            let run = try await result("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": ids["C1"]!])
            let first = try #require(run["tasks"]?[0])
            _ = try await result("playbook_task.update", ["id": first["id"]!, "version": first["version"]!, "status": "done"])
            // Adoption of one product on C1 (two months: the latest counts) and G.
            let product = try await result("product.create", ["name": "Suite", "capabilities": [["name": "SSO", "usage_target": 10]]])
            for (code, period, active, usage) in [("C1", "2025-01", 2, 1), ("C1", "2025-02", 8, 10), ("G", "2025-02", 4, 5)] {
                _ = try await result("adoption.record", [
                    "engagement_id": ids[code]!, "product_id": product["id"]!, "period": .string(period),
                    "licences_purchased": 10, "licences_active": .number(String(active)), "usage": [["capability": "SSO", "count": .number(String(usage))]]])
            }

            let live = try #require(try await result("engagement.rollup", ["id": ids["P"]!, "fresh": true])["work"])
            #expect(live["objectives"]?["by_status"]?["at_risk"] == 1 && live["objectives"]?["by_status"]?["on_track"] == 1
                    && live["objectives"]?["by_status"]?["missed"] == 0)
            let byType = try #require(live["initiatives"]?["by_type_and_stage"])
            #expect(byType["onboarding"]?["in_progress"] == 1 && byType["onboarding"]?["planned"] == 1 && byType["onboarding"]?["done"] == 0)
            #expect(byType["enablement"]?["done"] == 1)
            #expect(live["initiatives"]?["open"] == 2 && live["initiatives"]?["overdue"] == 1)
            #expect(live["playbook_tasks"]?["by_status"]?["done"] == 1 && live["playbook_tasks"]?["by_status"]?["todo"] == 1)
            #expect(live["playbook_tasks"]?["running_playbooks"] == 1 && live["playbook_tasks"]?["overdue"] == 0)
            #expect(live["action_items"]?["open"] == 1 && live["action_items"]?["overdue"] == 1)
            // C1's February: utilisation 80, coverage 100, score 90; G: 40, 50, 45. Means: 60, 75, 67.5.
            let adoption = try #require(live["adoption"]?.arrayValue)
            #expect(adoption.count == 1 && adoption[0]["engagements"] == 2)
            #expect(adoption[0]["licence_utilisation"] == .number("60.00") && adoption[0]["capability_coverage"] == .number("75.00")
                    && adoption[0]["adoption_score"] == .number("67.50"), "\(JSONWriter.string(.array(adoption)))")
            // C2 sees only its own subtree.
            let c2 = try #require(try await result("engagement.rollup", ["id": ids["C2"]!, "fresh": true])["work"])
            #expect(c2["objectives"]?["by_status"]?["at_risk"] == 0 && c2["action_items"]?["overdue"] == 1 && c2["adoption"] == [])

            try RollupTests.refresh(server)
            let materialized = try await result("engagement.rollup", ["id": ids["P"]!])
            #expect(materialized["source"] == "materialized" && materialized["work"] == live)
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let rows = try owner.query("SELECT count(*) FROM rollup.engagement_work WHERE organisation_id = $1::uuid", [server.orgA.id])
            #expect(rows.int(0, 0) == 5, "one row per engagement")
        }
    }
}
