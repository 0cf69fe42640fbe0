import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Touchpoints with action items: what was held, missed, agreed and done, and which engagements went quiet.
@Suite("Touchpoints and action items")
struct TouchpointTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

    @Test("a touchpoint with action items: held, missed, followed up; items done, open and overdue")
    func lifecycle() async throws {
        let server = try await ServerFixture.start("touchpoints")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let me = try #require(try await client.call("session.whoami")["result"]?["user"]?["id"])
            let qbr = try #require(try await client.call("touchpoint.create", [
                "engagement_id": tracked.id, "kind": "qbr", "title": "Q1 review", "held_at": "2025-03-10T10:00:00Z",
                "attendees": [["name": "Jane Buyer", "email": "jane@acme.example"]],
                "action_items": [
                    ["title": "Send the capacity plan", "owner_user_id": me, "due_date": "2025-03-20"],
                    ["title": "Book the next review"],
                ]])["result"])
            #expect(qbr["missed"] == false && qbr["action_items"]?.arrayValue?.count == 2)
            #expect(qbr["action_items"]?[0]?["overdue"] == true, "due in the past and open")
            // A follow-up scheduled in the past and not held is missed.
            let followUp = try #require(try await client.call("touchpoint.create", [
                "engagement_id": tracked.id, "kind": "meeting", "title": "Capacity follow-up",
                "scheduled_at": "2025-03-25T09:00:00Z", "follow_up_of": qbr["id"]!])["result"])
            #expect(followUp["missed"] == true && followUp["follow_up_of"] == qbr["id"])
            #expect(try await client.call("touchpoint.get", ["id": qbr["id"]!])["result"]?["follow_ups"] == [followUp["id"]!])
            let missed = try #require(try await client.call("touchpoint.list", ["engagement_id": tracked.id, "missed": true])["result"]?["items"]?.arrayValue)
            #expect(missed.map { $0["id"] } == [followUp["id"]])
            let held = try #require(try await client.call("touchpoint.update", [
                "id": followUp["id"]!, "version": followUp["version"]!, "held_at": "2025-03-26T09:00:00Z"])["result"])
            #expect(held["missed"] == false && held["version"]?.intValue == 2)
            #expect(try await client.call("touchpoint.list", ["engagement_id": tracked.id, "missed": true])["result"]?["items"] == [])

            let item = try #require(qbr["action_items"]?[0])
            let overdue = try #require(try await client.call("action_item.list", ["overdue": true])["result"]?["items"]?.arrayValue)
            #expect(overdue.map { $0["id"] } == [item["id"]])
            let done = try #require(try await client.call("action_item.update", ["id": item["id"]!, "version": item["version"]!, "done": true])["result"])
            #expect(done["done"] == true && done["overdue"] == false && done["done_at"] != .null)
            #expect(try await client.call("action_item.list", ["overdue": true])["result"]?["items"] == [])
            let open = try #require(try await client.call("action_item.list", ["engagement_id": tracked.id, "open": true])["result"]?["items"]?.arrayValue)
            #expect(open.map { $0["title"] } == ["Book the next review"])
            let added = try #require(try await client.call("action_item.add", ["touchpoint_id": held["id"]!, "title": "Share the minutes"])["result"])
            #expect(added["engagement_id"] == tracked.id && added["done"] == false)

            // Deleting the review keeps its follow-up, without the link (app.clear_references, the foreign key's
            // former ON DELETE SET NULL), as a new version of it.
            let review = try #require(try await client.call("touchpoint.get", ["id": qbr["id"]!])["result"])
            #expect(try await client.call("touchpoint.delete", ["id": qbr["id"]!, "version": review["version"]!])["result"]?["deleted"] == true)
            let orphan = try #require(try await client.call("touchpoint.get", ["id": followUp["id"]!])["result"])
            #expect(orphan["follow_up_of"] == .null && orphan["version"]?.intValue == 3, "\(JSONWriter.string(orphan))")
        }
    }

    @Test("unknown kinds, dates outside the engagement, strangers' follow-ups and owners are refused with their path; nothing is written")
    func badInput() async throws {
        let server = try await ServerFixture.start("touchpoints-bad")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let base: JSONObject = ["engagement_id": tracked.id, "kind": "meeting", "title": "Kick-off", "held_at": "2025-02-01T09:00:00Z"]
            func create(_ changes: JSONObject) async throws -> JSONValue {
                var params = base
                for member in changes.members { params[member.key] = member.value }
                return try await client.call("touchpoint.create", .object(params))
            }
            let unknownKind = try await create(["kind": "lunch"])
            #expect(unknownKind.errorCode == -32602 && path(unknownKind) == "params.kind")
            let outside = try await create(["held_at": "2026-06-01T09:00:00Z"])
            #expect(outside.errorCode == -32602 && path(outside) == "params.held_at")
            let noTime = try await create(["held_at": .null])
            #expect(noTime.errorCode == -32602)
            let stranger = try await create(["follow_up_of": .string(UUID().uuidString.lowercased())])
            #expect(stranger.errorCode == -32602 && path(stranger) == "params.follow_up_of")
            let badOwner = try await create(["action_items": [["title": "ok"], ["title": "who?", "owner_user_id": .string(UUID().uuidString.lowercased())]]])
            #expect(badOwner.errorCode == -32602 && path(badOwner) == "params.action_items[1].owner_user_id")
            #expect(try await client.call("touchpoint.list", ["engagement_id": tracked.id])["result"]?["items"] == [], "nothing written")

            #expect(try await client.call("touchpoint.add_kind", ["name": "lunch"])["result"]?.arrayValue?.contains("lunch") == true)
            #expect(try await create(["kind": "lunch"])["result"] != nil)
            let again = try await client.call("touchpoint.add_kind", ["name": "lunch"])
            #expect(again.errorCode == -32004 && path(again) == "params.name")
        }
    }

    @Test("engagements with no touchpoint held in N days, the longest quiet first")
    func quiet() async throws {
        let server = try await ServerFixture.start("touchpoints-quiet")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let talkedTo = try await TrackedEngagement.make(client, code: "T1")
            let silent = try await TrackedEngagement.make(client, code: "T2")
            let recent = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400))
            // A recent touchpoint needs dates that include today.
            let current = try #require(try await client.call("engagement.get", ["id": talkedTo.id])["result"])
            _ = try await client.call("engagement.update", ["id": talkedTo.id, "version": current["version"]!, "end_date": .null])
            #expect(try await client.call("touchpoint.create", [
                "engagement_id": talkedTo.id, "kind": "meeting", "title": "Weekly", "held_at": .string(recent)])["result"] != nil)
            let quiet = try #require(try await client.call("engagement.quiet", ["days": 30])["result"]?.arrayValue)
            #expect(quiet.map { $0["id"] } == [silent.id])
            #expect(quiet.first?["last_held_at"] == .null)
        }
    }
}
