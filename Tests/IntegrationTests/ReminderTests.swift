import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

/// Reminders: defaults from the item, due and snoozed, done, and the rules on what a reminder may be about.
@Suite("Reminders")
struct ReminderTests {
    @Test("reminders on items take their title and date; reminder.due lists the caller's that came up; snooze and done")
    func lifecycle() async throws {
        let server = try await ServerFixture.start("reminders")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let touchpoint = try #require(try await a.call("touchpoint.create", [
                "engagement_id": tracked.id, "kind": "qbr", "title": "Q3 review", "scheduled_at": "2025-09-10T10:00:00Z",
                "action_items": [["title": "Send agenda", "due_date": "2025-09-05"]]])["result"])
            let meeting = try #require(try await a.call("reminder.create", [
                "engagement_id": tracked.id, "subject_kind": "touchpoint", "subject_id": touchpoint["id"]!])["result"])
            #expect(meeting["title"] == "Q3 review" && meeting["due_at"]?.stringValue?.hasPrefix("2025-09-09T10:00:00") == true,
                    "a day before: \(JSONWriter.string(meeting))")
            let item = try #require(try await a.call("reminder.create", [
                "engagement_id": tracked.id, "subject_kind": "action_item", "subject_id": touchpoint["action_items"]![0]!["id"]!])["result"])
            #expect(item["title"] == "Action item: Send agenda" && item["state"] == "due")
            let renewal = try #require(try await a.call("reminder.create", [
                "engagement_id": tracked.id, "subject_kind": "renewal", "days_before": 90])["result"])
            #expect(renewal["title"]?.stringValue?.hasPrefix("Renewal of T1") == true
                    && renewal["due_at"]?.stringValue?.hasPrefix("2025-10-02") == true, "\(JSONWriter.string(renewal))")
            let later = try #require(try await a.call("reminder.create", [
                "engagement_id": tracked.id, "subject_kind": "free", "title": "Plan next year", "due_at": "2999-01-01T00:00:00Z"])["result"])
            #expect(later["state"] == "upcoming")

            // Everything dated in 2025 has come up; the 2999 one has not.
            let due = try #require(try await a.call("reminder.due")["result"]?.arrayValue)
            #expect(due.map { $0["title"] } == ["Action item: Send agenda", "Q3 review", renewal["title"]!])
            // Each one that came up is announced once on the timeline (so pushed as an event), by the server's worker.
            var announced: [JSONValue] = []
            for _ in 0..<40 {
                announced = try await a.call("timeline.list", ["engagement_id": tracked.id, "types": ["reminder_due"]])["result"]?["items"]?.arrayValue ?? []
                if announced.count >= 3 { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(Set(announced.compactMap { $0["title"]?.stringValue })
                    == ["Reminder: Action item: Send agenda", "Reminder: Q3 review", "Reminder: \(renewal["title"]!.stringValue!)"])
            #expect(announced.allSatisfy { $0["details"]?["recipient_user_id"] == meeting["recipient_user_id"] })
            // Snoozed into the future it leaves the list; done it stays gone.
            let snoozed = try #require(try await a.call("reminder.update", [
                "id": item["id"]!, "version": item["version"]!, "snoozed_until": "2999-06-01T00:00:00Z"])["result"])
            #expect(snoozed["state"] == "snoozed")
            let done = try #require(try await a.call("reminder.update", ["id": meeting["id"]!, "version": meeting["version"]!, "done": true])["result"])
            #expect(done["state"] == "done" && done["done_at"] != .null)
            #expect(try await a.call("reminder.due")["result"]?.arrayValue?.map { $0["title"] } == [renewal["title"]!])
            #expect(try await a.call("reminder.due", ["until": "2999-12-31T00:00:00Z"])["result"]?.arrayValue?.count == 3)
            // Another user's reminders are not in your list.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            _ = try admin.createUser(organisationID: server.orgA.id, email: "member@a.example", name: "Member", role: .member)
            let other = try await server.connect()
            _ = try await other.call("session.authenticate", [
                "api_key": .string(try admin.issueKey(organisationID: server.orgA.id, userEmail: "member@a.example").key.text)])
            #expect(try await other.call("reminder.due")["result"] == [])
            #expect(try await a.call("reminder.list", ["engagement_id": tracked.id, "open": true])["result"]?["items"]?.arrayValue?.count == 3)
        }
    }

    @Test("an item of another engagement, a missing date or title, a past snooze: -32602 with the path; nothing written")
    func badInput() async throws {
        let server = try await ServerFixture.start("reminders-bad")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(a)
            let other = try await TrackedEngagement.make(a, code: "T2")
            let touchpoint = try #require(try await a.call("touchpoint.create", [
                "engagement_id": other.id, "kind": "qbr", "title": "Theirs", "held_at": "2025-03-01T10:00:00Z"])["result"])
            let cases: [(JSONValue, String)] = [
                (["engagement_id": tracked.id, "subject_kind": "touchpoint", "subject_id": touchpoint["id"]!], "params.subject_id"),
                (["engagement_id": tracked.id, "subject_kind": "touchpoint"], "params.subject_id"),
                (["engagement_id": tracked.id, "subject_kind": "free", "due_at": "2025-05-01T00:00:00Z"], "params.title"),
                (["engagement_id": tracked.id, "subject_kind": "free", "title": "x"], "params.due_at"),
                (["engagement_id": tracked.id, "subject_kind": "contract_end"], "params.subject_kind"),
                (["engagement_id": tracked.id, "subject_kind": "free", "title": "x", "due_at": "2025-05-01T00:00:00Z",
                  "recipient_user_id": .string(UUID().uuidString.lowercased())], "params.recipient_user_id"),
            ]
            for (params, path) in cases {
                let reply = try await a.call("reminder.create", params)
                #expect(reply.errorCode == -32602 && reply.firstErrorPath == path, "\(path): \(JSONWriter.string(reply))")
            }
            #expect(try await a.call("reminder.list")["result"]?["items"] == [], "nothing written")
            let free = try #require(try await a.call("reminder.create", [
                "engagement_id": tracked.id, "subject_kind": "free", "title": "x", "due_at": "2025-05-01T00:00:00Z"])["result"])
            let past = try await a.call("reminder.update", ["id": free["id"]!, "version": free["version"]!, "snoozed_until": "2001-01-01T00:00:00Z"])
            #expect(past.errorCode == -32602 && past.firstErrorPath == "params.snoozed_until")
        }
    }
}
