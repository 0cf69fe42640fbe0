import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// The customer-success journey stage beside the delivery status: moves, their record, and the rules.
@Suite("Journey stages")
struct JourneyStageTests {
    @Test("an engagement starts onboarding; a move is versioned and recorded with who, when and why")
    func movesAreRecorded() async throws {
        let server = try await ServerFixture.start("stages")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let created = try await world.engagement(client, code: "S1")
            #expect(created["journey_stage"] == "onboarding" && created["journey_stage_changed_at"] == .null)

            let moved = try #require(try await client.call("engagement.set_stage", [
                "id": created["id"]!, "version": created["version"]!, "stage": "adoption", "reason": "live since March"])["result"])
            #expect(moved["journey_stage"] == "adoption" && moved["journey_stage_changed_at"] != .null)
            #expect(moved["version"]?.intValue == (created["version"]?.intValue ?? 0) + 1)
            #expect(moved["status"] == "draft", "the delivery status is apart")

            let stale = try await client.call("engagement.set_stage", ["id": created["id"]!, "version": created["version"]!, "stage": "monitoring"])
            #expect(stale.errorCode == -32004 && stale.errorReason == "stale_version")
            let same = try await client.call("engagement.set_stage", ["id": created["id"]!, "version": moved["version"]!, "stage": "adoption"])
            #expect(same.errorCode == -32602 && same["error"]?["data"]?["fields"]?[0]?["path"] == "params.stage")

            // psql obeys and is recorded the same way (method sql, no user).
            let owner = try server.ownerConnection()
            defer { owner.close() }
            _ = try owner.query("UPDATE app.engagements SET journey_stage = 'expansion' WHERE id = $1::uuid", [created["id"]!.stringValue!])

            let stages = try #require(try await client.call("engagement.stages", ["id": created["id"]!])["result"])
            #expect(stages["stage"] == "expansion")
            let history = try #require(stages["history"]?.arrayValue)
            #expect(history.count == 2)
            #expect(history[0]["from"] == "onboarding" && history[0]["to"] == "adoption" && history[0]["reason"] == "live since March")
            #expect(history[0]["changed_by"] != .null)
            #expect(history[1]["from"] == "adoption" && history[1]["to"] == "expansion" && history[1]["changed_by"] == .null)
        }
    }

    @Test("nothing follows lost; an archived engagement keeps its stage; nothing is written by a refused move")
    func rules() async throws {
        let server = try await ServerFixture.start("stage-rules")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            let engagement = try await world.engagement(client, code: "S2")
            let lost = try #require(try await client.call("engagement.set_stage", [
                "id": engagement["id"]!, "version": engagement["version"]!, "stage": "lost"])["result"])
            let again = try await client.call("engagement.set_stage", ["id": engagement["id"]!, "version": lost["version"]!, "stage": "renewal"])
            #expect(again.errorCode == -32007 && again.errorReason == "stage_terminal")

            var archived = try await world.engagement(client, code: "S3")
            for status in ["active", "completed", "archived"] {
                archived = try #require(try await client.move(archived, to: status)["result"])
            }
            let refused = try await client.call("engagement.set_stage", ["id": archived["id"]!, "version": archived["version"]!, "stage": "renewal"])
            #expect(refused.errorCode == -32007 && refused.errorReason == "archived")
            let owner = try server.ownerConnection()
            defer { owner.close() }
            #expect(throws: PostgresError.self, "psql is refused too") {
                try owner.query("UPDATE app.engagements SET journey_stage = 'renewal' WHERE id = $1::uuid", [engagement["id"]!.stringValue!])
            }
            let history = try #require(try await client.call("engagement.stages", ["id": engagement["id"]!])["result"]?["history"]?.arrayValue)
            #expect(history.count == 1, "only the move to lost")
        }
    }
}
