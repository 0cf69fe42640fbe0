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

/// Health models per journey stage: the choice order, and rescoring when the stage or the choice changes.
@Suite("Health models per journey stage")
struct StageHealthModelTests {
    func model(_ client: RPCConnection, _ name: String) async throws -> JSONValue {
        try #require(try await client.call("health_model.create", [
            "name": .string(name), "metrics": [["metric": "kpi_attainment", "weight": 1]]])["result"])
    }

    func effectiveModel(_ client: RPCConnection, _ engagement: JSONValue) async throws -> String? {
        try await client.call("health.explain", ["engagement_id": engagement["id"]!])["result"]?["model"]?["name"]?.stringValue
    }

    @Test("own model, then the template's for the stage, the template's, the organisation's for the stage, the default")
    func choiceOrder() async throws {
        let server = try await ServerFixture.start("stage-models")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(client)
            var engagement = try await world.engagement(client, code: "M1")
            let organisationOnboarding = try await model(client, "Org onboarding")
            let templateAdoption = try await model(client, "Template adoption")
            let templateModel = try await model(client, "Template")
            let own = try await model(client, "Own")
            #expect(try await effectiveModel(client, engagement) == "Standard", "the default")

            let set = try #require(try await client.call("health_model.set_stage_model", [
                "journey_stage": "onboarding", "model_id": organisationOnboarding["id"]!])["result"])
            #expect(set["template_id"] == .null && set["model_name"] == "Org onboarding")
            #expect(try await effectiveModel(client, engagement) == "Org onboarding")

            _ = try await client.call("template.set_health_model", ["id": world.template["id"]!, "model_id": templateModel["id"]!])
            #expect(try await effectiveModel(client, engagement) == "Template", "the template's model comes before the organisation's stage model")

            #expect(try await client.call("health_model.set_stage_model", [
                "journey_stage": "adoption", "model_id": templateAdoption["id"]!, "template_id": world.template["id"]!])["result"] != nil)
            #expect(try await effectiveModel(client, engagement) == "Template", "still onboarding")
            engagement = try #require(try await client.call("engagement.set_stage", [
                "id": engagement["id"]!, "version": engagement["version"]!, "stage": "adoption"])["result"])
            #expect(try await effectiveModel(client, engagement) == "Template adoption", "the stage moved: the template's stage model")

            _ = try await client.call("engagement.set_health_model", ["id": engagement["id"]!, "model_id": own["id"]!])
            #expect(try await effectiveModel(client, engagement) == "Own")

            let listed = try #require(try await client.call("health_model.stage_models")["result"]?.arrayValue)
            #expect(listed.map { $0["model_name"]?.stringValue ?? "" } == ["Org onboarding", "Template adoption"])
            // Removing a choice: the next in line applies.
            _ = try await client.call("engagement.set_health_model", ["id": engagement["id"]!, "model_id": .null])
            #expect(try await client.call("health_model.set_stage_model", [
                "journey_stage": "adoption", "model_id": .null, "template_id": world.template["id"]!])["result"]?["model_id"] == .null)
            #expect(try await effectiveModel(client, engagement) == "Template")
            // A model chosen for a stage is in use.
            let delete = try await client.call("health_model.delete", ["id": organisationOnboarding["id"]!, "version": organisationOnboarding["version"]!])
            #expect(delete.errorCode == -32004 && delete.errorReason == "in_use")
        }
    }

    @Test("a stage move rescores the stored months with the stage's model; bad ids name their param")
    func rescoring() async throws {
        let server = try await ServerFixture.start("stage-rescore")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let submitted = try await client.call("checkin.submit", [
                "engagement_id": tracked.engagement["id"]!, "period": "2025-03", "kpis": [["kpi": "Availability", "actual": 99]]])
            #expect(submitted["result"] != nil, "\(JSONWriter.string(submitted))")
            let renewal = try await model(client, "Renewal")
            #expect(try await client.call("health_model.set_stage_model", ["journey_stage": "renewal", "model_id": renewal["id"]!])["result"] != nil)
            let before = try #require(try await client.call("health.history", ["engagement_id": tracked.engagement["id"]!])["result"]?[0])
            let current = try #require(try await client.call("engagement.get", ["id": tracked.engagement["id"]!])["result"])
            #expect(try await client.call("engagement.set_stage", ["id": current["id"]!, "version": current["version"]!, "stage": "renewal"])["result"] != nil)
            let after = try #require(try await client.call("health.history", ["engagement_id": tracked.engagement["id"]!])["result"]?[0])
            #expect(before["model_id"] != renewal["id"] && after["model_id"] == renewal["id"])

            let missingTemplate = try await client.call("health_model.set_stage_model", [
                "journey_stage": "renewal", "model_id": renewal["id"]!, "template_id": .string(UUID().uuidString.lowercased())])
            #expect(missingTemplate.errorCode == -32602 && missingTemplate["error"]?["data"]?["fields"]?[0]?["path"] == "params.template_id")
            let missingModel = try await client.call("health_model.set_stage_model", [
                "journey_stage": "renewal", "model_id": .string(UUID().uuidString.lowercased())])
            #expect(missingModel.errorCode == -32602 && missingModel["error"]?["data"]?["fields"]?[0]?["path"] == "params.model_id")
        }
    }
}
