import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Playbooks: steps, conditions, one running instance, tasks to completion.
@Suite("Playbooks")
struct PlaybookTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

    @Test("starting makes a task per step whose conditions hold; one running instance; the run completes with its last task")
    func run() async throws {
        let server = try await ServerFixture.start("playbooks")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let playbook = try #require(try await client.call("playbook.create", [
                "name": "Onboarding", "steps": [
                    ["title": "Kick-off call", "owner_role": "manager", "due_offset_days": 3],
                    ["title": "Renewal prep", "stages": ["renewal"]],
                    ["title": "Rescue plan", "bands": ["red"]],
                    ["title": "Training", "due_offset_days": 14, "stages": ["onboarding", "adoption"]],
                ]])["result"])
            let started = try #require(try await client.call("playbook.start", [
                "playbook_id": playbook["id"]!, "engagement_id": tracked.id])["result"])
            let tasks = try #require(started["tasks"]?.arrayValue)
            #expect(tasks.map { $0["title"]?.stringValue ?? "" } == ["Kick-off call", "Training"], "onboarding, no health yet")
            #expect(started["status"] == "running" && started["progress"]?["tasks"] == 2)
            let formatter = DateFormatter()
            formatter.dateFormat = "yyyy-MM-dd"
            formatter.timeZone = TimeZone(identifier: "UTC")
            #expect(tasks[0]["due_date"]?.stringValue == formatter.string(from: Date().addingTimeInterval(3 * 86_400)))

            let twice = try await client.call("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": tracked.id])
            #expect(twice.errorCode == -32007 && twice.errorReason == "playbook_running")

            let first = try #require(try await client.call("playbook_task.update", ["id": tasks[0]["id"]!, "version": tasks[0]["version"]!, "status": "done"])["result"])
            #expect(first["status"] == "done" && first["done_at"] != .null)
            #expect(try await client.call("playbook_run.get", ["id": started["id"]!])["result"]?["status"] == "running")
            _ = try await client.call("playbook_task.update", ["id": tasks[1]["id"]!, "version": tasks[1]["version"]!, "status": "skipped"])
            let finished = try #require(try await client.call("playbook_run.get", ["id": started["id"]!])["result"])
            #expect(finished["status"] == "completed" && finished["finished_at"] != .null && finished["progress"]?["finished"] == 2)
            // A finished run's tasks stay as they are; the playbook can run again.
            let reopen = try await client.call("playbook_task.update", ["id": tasks[0]["id"]!, "version": first["version"]!, "status": "todo"])
            #expect(reopen.errorCode == -32007 && reopen.errorReason == "run_finished")
            let again = try #require(try await client.call("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": tracked.id])["result"])
            let cancelled = try #require(try await client.call("playbook_run.cancel", ["id": again["id"]!])["result"])
            #expect(cancelled["status"] == "cancelled")
            let runs = try #require(try await client.call("playbook_run.list", ["engagement_id": tracked.id])["result"]?.arrayValue)
            #expect(runs.map { $0["status"]?.stringValue ?? "" } == ["cancelled", "completed"])
        }
    }

    @Test("bad steps name their path; archived playbooks and steps that all fail their conditions are refused; psql obeys")
    func badInput() async throws {
        let server = try await ServerFixture.start("playbooks-bad")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let badRole = try await client.call("playbook.create", ["name": "X", "steps": [["title": "a"], ["title": "b", "owner_role": "boss"]]])
            #expect(badRole.errorCode == -32602 && path(badRole) == "params.steps[1].owner_role")
            let empty = try await client.call("playbook.create", ["name": "X", "steps": []])
            #expect(empty.errorCode == -32602 && path(empty) == "params.steps")
            let renewalOnly = try #require(try await client.call("playbook.create", [
                "name": "Renewal", "steps": [["title": "Prep", "stages": ["renewal"]]]])["result"])
            let none = try await client.call("playbook.start", ["playbook_id": renewalOnly["id"]!, "engagement_id": tracked.id])
            #expect(none.errorCode == -32602 && path(none) == "params.playbook_id")
            let archived = try #require(try await client.call("playbook.update", [
                "id": renewalOnly["id"]!, "version": renewalOnly["version"]!, "archived": true])["result"])
            #expect(archived["archived"] == true)
            let stranger = try await client.call("playbook.start", ["playbook_id": .string(UUID().uuidString.lowercased()), "engagement_id": tracked.id])
            #expect(stranger.errorCode == -32602 && path(stranger) == "params.playbook_id")
            #expect(try await client.call("playbook_run.list", ["engagement_id": tracked.id])["result"] == [], "nothing started")

            let owner = try server.ownerConnection()
            defer { owner.close() }
            #expect(throws: PostgresError.self, "psql writes are checked too") {
                try owner.query(
                    "INSERT INTO app.playbooks (organisation_id, name, steps) VALUES ($1::uuid, 'psql', '[{\"title\": \"\"}]')",
                    [server.orgA.id])
            }
        }
    }
}
