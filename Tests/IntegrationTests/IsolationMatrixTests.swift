import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Every method of the registry that takes an `id`, called by organisation B with organisation A's real id of
/// the matching kind: the answer must be exactly "not found", and A's audit log must show nothing was written.
/// Methods added later are covered without touching this test, as long as their entity kind is listed below.
@Suite("Isolation matrix")
struct IsolationMatrixTests {
    @Test("organisation B gets -32003 for every method on organisation A's ids, and writes nothing of A's")
    func matrix() async throws {
        let server = try await ServerFixture.start("matrix")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let world = try await EngagementWorld.make(a)
            let engagement = try await world.engagement(a, code: "M1")
            let portfolio = try #require(try await a.call("portfolio.create", ["name": "A's portfolio"])["result"])
            let contract = try #require(try await a.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "A-1", "title": "A's", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01"])["result"])
            let active = try #require(try await a.move(engagement, to: "active")["result"])
            let checkIn = try #require(try await a.call("checkin.submit", [
                "engagement_id": active["id"]!, "period": "2025-02", "kpis": [["kpi": "Availability", "actual": .number("99.5")]]])["result"])
            let kpi = try #require(try await a.call("kpi.list", ["engagement_id": active["id"]!])["result"]?[0])
            let attribution = try #require(try await a.call("attribution.set", [
                "engagement_id": active["id"]!, "party_id": active["deliverers"]![0]!["party_id"]!, "from_period": "2025-01"])["result"]?[0])
            let model = try #require(try await a.call("health_model.list")["result"]?["items"]?[0])
            let risk = try #require(try await a.call("risk.raise", [
                "engagement_id": active["id"]!, "title": "A's risk", "probability": "low", "impact": "low"])["result"])
            let rule = try #require(try await a.call("risk_rule.create", [
                "name": "A's rule", "condition": "health_score", "comparison": "<", "threshold": 10, "title": "low"])["result"])
            let user = try #require(try await a.call("session.whoami")["result"]?["user"])
            let key = try #require(try await a.call("api_key.list")["result"]?[0])
            let touchpoint = try #require(try await a.call("touchpoint.create", [
                "engagement_id": active["id"]!, "kind": "meeting", "title": "A's meeting", "held_at": "2025-02-01T09:00:00Z",
                "action_items": [["title": "A's item"]]])["result"])
            let playbook = try #require(try await a.call("playbook.create", ["name": "A's play", "steps": [["title": "Do"]]])["result"])
            let product = try #require(try await a.call("product.create", ["name": "A's product"])["result"])
            let playbookRun = try #require(try await a.call("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": active["id"]!])["result"])
            let blueprint = try #require(try await a.call("blueprint.create", [
                "name": "A's blueprint", "objectives": [["title": "A's goal", "initiatives": [["title": "Go", "type": "onboarding"]]]]])["result"])
            let objective = try #require(try await a.call("objective.create", [
                "engagement_id": active["id"]!, "title": "A's objective", "outcomes": [["title": "A's measure", "target": 1]],
                "initiatives": [["title": "A's initiative", "type": "adoption"]]])["result"])
            let reminder = try #require(try await a.call("reminder.create", [
                "engagement_id": active["id"]!, "subject_kind": "free", "title": "A's reminder", "due_at": "2999-03-01T00:00:00Z"])["result"])
            let triggerRule = try #require(try await a.call("trigger_rule.create", [
                "name": "A's trigger", "event": "status_changed", "actions": [["action": "notify", "message": "A"]]])["result"])
            let opportunity = try #require(try await a.call("opportunity.create", [
                "customer_party_id": world.customer["id"]!, "title": "A's deal", "value": 1, "currency": "EUR",
                "contract_ids": [contract["id"]!]])["result"])
            let project = try #require(try await a.call("project.create", [
                "engagement_id": active["id"]!, "name": "A's project", "deliverables": [["title": "A's deliverable"]]])["result"])
            let commitment = try #require(try await a.call("commitment.create", [
                "contract_id": contract["id"]!, "kind": "hours", "title": "A's hours", "hours": 10])["result"])
            let term = try #require(try await a.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "Availability", "target": 99, "comparison": ">=", "measurement_period": "monthly"])["result"]?["sla_terms"]?[0]?["id"])
            let contracted = try await world.engagement(a, code: "M2", extra: ["contract_id": contract["id"]!])
            let exclusion = try #require(try await a.call("sla.add_exclusion", [
                "term_id": term, "engagement_id": contracted["id"]!, "starts_at": "2025-01-01T00:00:00Z", "ends_at": "2025-01-01T01:00:00Z",
                "reason": "A's"])["result"])
            // A's id for each entity kind, by method prefix.
            let ids: [String: JSONValue] = [
                "party": world.customer["id"]!, "service": world.service["id"]!, "template": world.template["id"]!,
                "engagement": engagement["id"]!, "portfolio": portfolio["id"]!, "contract": contract["id"]!,
                "user": user["id"]!, "api_key": key["id"]!, "checkin": checkIn["id"]!, "kpi": kpi["id"]!,
                "attribution": attribution["id"]!, "health_model": model["id"]!, "risk": risk["id"]!, "risk_rule": rule["id"]!,
                "touchpoint": touchpoint["id"]!, "action_item": touchpoint["action_items"]![0]!["id"]!,
                "playbook": playbook["id"]!, "playbook_run": playbookRun["id"]!, "playbook_task": playbookRun["tasks"]![0]!["id"]!,
                "product": product["id"]!, "blueprint": blueprint["id"]!, "objective": objective["id"]!,
                "outcome": objective["outcomes"]![0]!["id"]!, "initiative": objective["initiatives"]![0]!["id"]!,
                "reminder": reminder["id"]!, "trigger_rule": triggerRule["id"]!, "opportunity": opportunity["id"]!,
                "project": project["id"]!, "deliverable": project["deliverables"]![0]!["id"]!, "commitment": commitment["id"]!,
                "sla": exclusion["id"]!,
            ]
            let owner = try server.ownerConnection()
            defer { owner.close() }
            func auditRowsOfA() throws -> Int {
                try owner.query("SELECT count(*) FROM app.audit_log WHERE organisation_id = $1::uuid", [server.orgA.id]).int(0, 0) ?? -1
            }
            let before = try auditRowsOfA()

            var covered: [String] = []
            for method in MethodRegistry.standard().definitions where method.params.contains(where: { $0.name == "id" }) {
                let kind = String(method.name.prefix { $0 != "." })
                let id = try #require(ids[kind], "no id of A's for \(method.name): add its entity kind to this test")
                var params = JSONObject()
                for field in method.params where field.required { params[field.name] = Self.sample(field.schema) }
                params["id"] = id
                if params["engagement_id"] != nil { params["engagement_id"] = engagement["id"]! }
                if params["version"] != nil { params["version"] = 1 }
                let reply = try await b.call(method.name, .object(params))
                #expect(reply.errorCode == -32003, "\(method.name): \(JSONWriter.string(reply))")
                #expect(reply["error"]?["message"] == "Not found", "\(method.name)")
                covered.append(method.name)
            }
            #expect(covered.count >= 25, "\(covered)")
            // An action item added to A's touchpoint: exactly as to a missing one.
            let foreignItem = try await b.call("action_item.add", ["touchpoint_id": touchpoint["id"]!, "title": "B's"])
            #expect(foreignItem.errorCode == -32003)
            // Starting A's playbook on B's own engagement: A's playbook is as missing as a made-up one.
            let ownEngagement = try await EngagementWorld.make(b, prefix: "B-").engagement(b, code: "B1")
            let foreignPlaybook = try await b.call("playbook.start", ["playbook_id": playbook["id"]!, "engagement_id": ownEngagement["id"]!])
            let missingPlaybook = try await b.call("playbook.start", ["playbook_id": .string(UUID().uuidString.lowercased()), "engagement_id": ownEngagement["id"]!])
            #expect(foreignPlaybook["error"] == missingPlaybook["error"] && foreignPlaybook.errorCode == -32602)
            // Outcomes and initiatives added to A's objective; A's blueprint applied to B's own engagement.
            for (method, params) in [("outcome.add", ["target": 1] as JSONObject), ("initiative.add", ["type": "adoption"])] {
                var call = params
                call["objective_id"] = objective["id"]!
                call["title"] = "B's"
                let foreign = try await b.call(method, .object(call))
                #expect(foreign.errorCode == -32003, "\(method): \(JSONWriter.string(foreign))")
            }
            let foreignBlueprint = try await b.call("blueprint.apply", ["blueprint_id": blueprint["id"]!, "engagement_id": ownEngagement["id"]!])
            let missingBlueprint = try await b.call("blueprint.apply", ["blueprint_id": .string(UUID().uuidString.lowercased()), "engagement_id": ownEngagement["id"]!])
            #expect(foreignBlueprint["error"] == missingBlueprint["error"] && foreignBlueprint.errorCode == -32602)

            // Methods that name an engagement but no id of their own: A's engagement gets exactly the answer of an
            // engagement that does not exist (existence never leaks), and nothing is written.
            var byEngagement: [String] = []
            for method in MethodRegistry.standard().definitions
            where method.params.contains(where: { $0.name == "engagement_id" && $0.required }) && !method.params.contains(where: { $0.name == "id" }) {
                var params = JSONObject()
                for field in method.params where field.required { params[field.name] = Self.sample(field.schema) }
                params["engagement_id"] = engagement["id"]!
                let foreign = try await b.call(method.name, .object(params))
                params["engagement_id"] = .string(UUID().uuidString.lowercased())
                let missing = try await b.call(method.name, .object(params))
                #expect(foreign.errorCode != nil && foreign["error"] == missing["error"], "\(method.name): \(JSONWriter.string(foreign)) vs \(JSONWriter.string(missing))")
                byEngagement.append(method.name)
            }
            #expect(byEngagement.count >= 6, "\(byEngagement)")
            #expect(try auditRowsOfA() == before, "none of B's calls wrote anything of A's")
            #expect(try await a.call("engagement.get", ["id": engagement["id"]!])["result"] == active)
        }
    }

    /// A value that passes `schema`, so the call reaches the database instead of failing validation.
    static func sample(_ schema: Schema) -> JSONValue {
        switch schema {
        case .string(let minLength, _, let format, let pattern):
            if format == "uuid" { return .string(UUID().uuidString.lowercased()) }
            if format == "date" { return "2025-01-01" }
            switch pattern {
            case "[A-Z]{3}": return "EUR"
            case .some(let pattern) where pattern.hasPrefix("(19|20)"): return "2025-02"
            case .some(let pattern) where pattern.contains("@"): return "someone@example.com"
            case .some(let pattern) where pattern.hasPrefix("[a-z]"): return "sample_name"
            default: return .string(String(repeating: "X", count: max(minLength, 1)))
            }
        case .integer(let minimum, _): return .number(String(minimum ?? 1))
        case .number: return 1
        case .numberInRange(let minimum, _): return .number(String(Int(minimum ?? 1)))
        case .boolean: return false
        case .enumeration(let values): return .string(values[0])
        case .array: return []
        case .object(let fields, _):
            return .object(JSONObject(fields.filter(\.required).map { (key: $0.name, value: sample($0.schema)) }))
        case .nullable(let inner): return sample(inner)
        case .dictionary: return .object([:])
        case .any: return .null
        }
    }
}
