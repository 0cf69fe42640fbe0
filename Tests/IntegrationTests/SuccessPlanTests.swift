import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Success plans and blueprints: objectives with outcomes (bound to KPIs, measured by check-ins) and initiatives;
/// blueprints copied into engagements, compared with their current version, mandatory items kept.
@Suite("Success plans and blueprints")
struct SuccessPlanTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }
    /// What a blueprint.apply added: objectives, outcomes, initiatives.
    func added(_ reply: JSONValue) -> [Int?] { ["objectives", "outcomes", "initiatives"].map { reply["added"]?[$0]?.intValue } }

    static let blueprintParams: JSONValue = [
        "name": "Security suite rollout",
        "objectives": [
            ["title": "Protect every endpoint", "target_offset_days": 90, "mandatory": true,
             "outcomes": [
                ["title": "Endpoint coverage", "target": 95, "unit": "%", "kpi": "Endpoint coverage", "mandatory": true],
                ["title": "Incidents per month", "target": 2, "direction": "lower_is_better"],
             ],
             "initiatives": [
                ["title": "Deploy agents", "type": "onboarding", "due_offset_days": 30, "mandatory": true],
                ["title": "Train the admins", "type": "enablement", "due_offset_days": 400],
             ]],
            ["title": "Reduce alert noise", "initiatives": [["title": "Tune the rules", "type": "adoption"]]],
        ],
    ]

    @Test("an objective with outcomes and initiatives: a KPI-bound outcome follows check-ins, statuses derive, stages move")
    func objectives() async throws {
        let server = try await ServerFixture.start("success-plans")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let kpis = try #require(try await client.call("kpi.list", ["engagement_id": tracked.id])["result"]?.arrayValue)
            let availability = try #require(kpis.first { $0["name"] == "Availability" }?["id"])
            let created = try #require(try await client.call("objective.create", [
                "engagement_id": tracked.id, "title": "Stable service", "target_date": "2025-06-30", "status": "on_track",
                "outcomes": [
                    ["title": "Availability", "target": .number("99.9"), "unit": "%", "kpi_id": availability],
                    ["title": "NPS", "target": 40, "actual": 45],
                ],
                "initiatives": [["title": "Monitoring", "type": "remediation", "due_date": "2025-02-01"]],
            ])["result"], "objective.create")
            let outcomes = try #require(created["outcomes"]?.arrayValue)
            #expect(outcomes[0]["status"] == "no_data" && outcomes[0]["actual"] == .null, "bound, nothing checked in yet: \(JSONWriter.string(created))")
            #expect(outcomes[1]["status"] == "achieved" && outcomes[1]["actual"] == 45)
            #expect(created["initiatives"]?[0]?["overdue"] == true && created["initiatives"]?[0]?["stage"] == "planned")

            _ = try #require(try await tracked.submit("2025-01", ["kpis": [["kpi": "Availability", "actual": .number("99.5")]]])["result"])
            _ = try #require(try await tracked.submit("2025-02", ["kpis": [["kpi": "Availability", "actual": .number("99.95")]]])["result"])
            let measured = try #require(try await client.call("objective.get", ["id": created["id"]!])["result"]?["outcomes"]?[0])
            #expect(measured["actual"] == .number("99.95") && measured["measured_period"] == "2025-02-01" && measured["status"] == "achieved",
                    "the latest month's value: \(JSONWriter.string(measured))")

            let nps = outcomes[1]
            let missed = try #require(try await client.call("outcome.update", ["id": nps["id"]!, "version": nps["version"]!, "actual": 30])["result"])
            #expect(missed["status"] == "not_achieved" && missed["version"]?.intValue == 2)
            let bound = try await client.call("outcome.update", ["id": measured["id"]!, "version": measured["version"]!, "actual": 1])
            #expect(bound.errorCode == -32602 && path(bound) == "params.actual", "a bound outcome's actual comes from check-ins")

            let initiative = try #require(created["initiatives"]?[0])
            let moved = try #require(try await client.call("initiative.update", [
                "id": initiative["id"]!, "version": initiative["version"]!, "stage": "done"])["result"])
            #expect(moved["stage"] == "done" && moved["overdue"] == false)
            let atRisk = try #require(try await client.call("objective.update", [
                "id": created["id"]!, "version": created["version"]!, "status": "at_risk"])["result"])
            #expect(atRisk["status"] == "at_risk")
            let risky = try #require(try await client.call("objective.list", ["status": "at_risk"])["result"]?["items"]?.arrayValue)
            #expect(risky.map { $0["id"] } == [created["id"]])
            #expect(try await client.call("initiative.list", ["engagement_id": tracked.id, "stage": "done"])["result"]?["items"]?.arrayValue?.count == 1)

            let deleted = try await client.call("objective.delete", ["id": created["id"]!, "version": atRisk["version"]!])
            #expect(deleted["result"]?["deleted"] == true)
            #expect(try await client.call("initiative.list", ["engagement_id": tracked.id])["result"]?["items"] == [], "deleted with its objective")
        }
    }

    @Test("applying a blueprint copies its items; edits to it leave engagements alone; gaps shows what is missing and apply adds it")
    func blueprints() async throws {
        let server = try await ServerFixture.start("blueprints")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let blueprint = try #require(try await client.call("blueprint.create", Self.blueprintParams)["result"])
            let keys = try #require(blueprint["objectives"]?.arrayValue?.compactMap { $0["key"]?.stringValue })
            #expect(keys.count == 2, "every item gets a key")

            let applied = try #require(try await client.call("blueprint.apply", [
                "blueprint_id": blueprint["id"]!, "engagement_id": tracked.id])["result"])
            #expect(added(applied) == [2, 2, 3] && applied["missing"] == [])
            let protect = try #require(applied["objectives"]?[0])
            #expect(protect["target_date"] == "2025-04-01" && protect["mandatory"] == true, "start + 90 days")
            #expect(protect["initiatives"]?[1]?["due_date"] == "2025-12-31", "kept within the engagement's end")
            let coverage = try #require(protect["outcomes"]?[0])
            #expect(coverage["kpi_id"] != .null, "bound to the KPI of that name")
            let kpis = try #require(try await client.call("kpi.list", ["engagement_id": tracked.id])["result"]?.arrayValue)
            #expect(kpis.contains { $0["name"] == "Endpoint coverage" && $0["id"] == coverage["kpi_id"] }, "the missing KPI was added")
            let again = try #require(try await client.call("blueprint.apply", [
                "blueprint_id": blueprint["id"]!, "engagement_id": tracked.id])["result"])
            #expect(added(again) == [0, 0, 0], "applying twice adds nothing")

            // Mandatory items stay; the others can go.
            let keep = try await client.call("objective.delete", ["id": protect["id"]!, "version": protect["version"]!])
            #expect(keep.errorCode == -32007 && keep.errorReason == "mandatory")
            let cancel = try await client.call("objective.update", ["id": protect["id"]!, "version": protect["version"]!, "status": "cancelled"])
            #expect(cancel.errorCode == -32007 && cancel.errorReason == "mandatory")
            let train = try #require(protect["initiatives"]?[1])
            #expect(try await client.call("initiative.delete", ["id": train["id"]!, "version": train["version"]!])["result"]?["deleted"] == true)

            // A new version: one more initiative; the engagement is unchanged until it is applied again.
            var objectives = try #require(blueprint["objectives"]?.arrayValue)
            var second = try #require(objectives[1].objectValue)
            second["initiatives"] = .array((second["initiatives"]?.arrayValue ?? []) + [["title": "Quarterly tuning review", "type": "adoption"]])
            objectives[1] = .object(second)
            let edited = try #require(try await client.call("blueprint.update", [
                "id": blueprint["id"]!, "version": blueprint["version"]!, "objectives": .array(objectives)])["result"])
            #expect(edited["version"]?.intValue == 2 && edited["objectives"]?[1]?["key"] == .string(keys[1]), "keys survive edits")
            let gaps = try #require(try await client.call("blueprint.gaps", ["blueprint_id": blueprint["id"]!, "engagement_id": tracked.id])["result"])
            #expect(gaps["applied_version"]?.intValue == 1 && gaps["current_version"]?.intValue == 2)
            let missing = try #require(gaps["missing"]?.arrayValue)
            #expect(missing.map { $0["title"] } == ["Train the admins", "Quarterly tuning review"], "\(JSONWriter.string(gaps))")
            let mandatoryOnly = try #require(try await client.call("blueprint.apply", [
                "blueprint_id": blueprint["id"]!, "engagement_id": tracked.id, "mandatory_only": true])["result"])
            #expect(added(mandatoryOnly) == [0, 0, 0] && mandatoryOnly["missing"]?.arrayValue?.count == 2)
            let synced = try #require(try await client.call("blueprint.apply", [
                "blueprint_id": blueprint["id"]!, "engagement_id": tracked.id])["result"])
            #expect(added(synced) == [0, 0, 2] && synced["missing"] == [] && synced["blueprint_version"]?.intValue == 2)
            #expect(try await client.call("blueprint.get", ["id": blueprint["id"]!])["result"]?["applied_to"] == 1)
            let fromBlueprint = try #require(try await client.call("objective.list", ["blueprint_id": blueprint["id"]!])["result"]?["items"]?.arrayValue)
            #expect(fromBlueprint.count == 2)

            // Mandatory items go with their engagement: a draft with the blueprint applied can still be deleted.
            let draft = try await tracked.world.engagement(client, code: "D1")
            #expect(try await client.call("blueprint.apply", ["blueprint_id": blueprint["id"]!, "engagement_id": draft["id"]!])["result"] != nil)
            let gone = try await client.call("engagement.delete", ["id": draft["id"]!, "version": draft["version"]!])
            #expect(gone["result"]?["deleted"] == true, "\(JSONWriter.string(gone))")
        }
    }

    @Test("unknown types, another engagement's KPI, dates outside the engagement, bad blueprints: -32602 with the path; nothing written")
    func badInput() async throws {
        let server = try await ServerFixture.start("success-plans-bad")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let tracked = try await TrackedEngagement.make(client)
            let other = try await TrackedEngagement.make(client, code: "T2")
            let kpis = try #require(try await client.call("kpi.list", ["engagement_id": other.id])["result"]?.arrayValue)
            let strangerKPI = try #require(kpis.first?["id"])
            func create(_ changes: JSONObject) async throws -> JSONValue {
                var params: JSONObject = ["engagement_id": tracked.id, "title": "Objective"]
                for member in changes.members { params[member.key] = member.value }
                return try await client.call("objective.create", .object(params))
            }
            let cases: [(JSONObject, String)] = [
                (["target_date": "2026-03-01"], "params.target_date"),
                (["outcomes": [["title": "ok", "target": 1], ["title": "x", "target": 1, "kpi_id": strangerKPI]]], "params.outcomes[1].kpi_id"),
                (["initiatives": [["title": "x", "type": "lunch"]]], "params.initiatives[0].type"),
                (["initiatives": [["title": "x", "type": "onboarding", "due_date": "2024-12-31"]]], "params.initiatives[0].due_date"),
                (["owner_user_id": .string(UUID().uuidString.lowercased())], "params.owner_user_id"),
            ]
            for (changes, expected) in cases {
                let reply = try await create(changes)
                #expect(reply.errorCode == -32602 && path(reply) == expected, "\(expected): \(JSONWriter.string(reply))")
            }
            #expect(try await client.call("objective.list", ["engagement_id": tracked.id])["result"]?["items"] == [], "nothing written")

            let blueprintCases: [(JSONValue, String)] = [
                (["name": "B", "objectives": []], "params.objectives"),
                (["name": "B", "objectives": [["title": "o", "initiatives": [["title": "i", "type": "lunch"]]]]], "params.objectives[0].initiatives[0].type"),
                (["name": "B", "product_id": .string(UUID().uuidString.lowercased()), "objectives": [["title": "o"]]], "params.product_id"),
            ]
            for (params, expected) in blueprintCases {
                let reply = try await client.call("blueprint.create", params)
                #expect(reply.errorCode == -32602 && path(reply) == expected, "\(expected): \(JSONWriter.string(reply))")
            }
            let unknown = try await client.call("blueprint.apply", ["blueprint_id": .string(UUID().uuidString.lowercased()), "engagement_id": tracked.id])
            #expect(unknown.errorCode == -32602 && path(unknown) == "params.blueprint_id")
            #expect(try await client.call("blueprint.list")["result"]?["items"] == [], "nothing written")

            #expect(try await client.call("initiative.add_type", ["name": "lunch"])["result"]?.arrayValue?.contains("lunch") == true)
            #expect(try await create(["initiatives": [["title": "x", "type": "lunch"]]])["result"] != nil)
        }
    }
}
