import EngagementClient
import Foundation
import JSONRPC
import Testing

/// The commercial methods that name other entities (a customer, a contract, a template, an engagement, a term…):
/// organisation B naming organisation A's real ids gets exactly the reply a made-up id gets, and nothing is
/// written on either side. (IsolationMatrixTests covers every method's own `id`.)
@Suite("Commercial isolation")
struct CommercialIsolationTests {
    @Test("another organisation's ids in a commercial method's params answer exactly as made-up ids")
    func foreignReferences() async throws {
        let server = try await ServerFixture.start("commercial-isolation")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            func result(_ client: RPCConnection, _ method: String, _ params: JSONValue) async throws -> JSONValue {
                let reply = try await client.call(method, params)
                return try #require(reply["result"], "\(method): \(JSONWriter.string(reply))")
            }
            // A's side: a contract with a commitment and an SLA term, an engagement on it with a project, a portfolio.
            let worldA = try await EngagementWorld.make(a)
            let contractA = try await result(a, "contract.create", [
                "customer_party_id": worldA.customer["id"]!, "reference": "A-1", "title": "A", "contract_type": "mou", "currency": "EUR",
                "start_date": "2025-01-01", "end_date": "2025-12-31"])
            let engagementA = try await worldA.engagement(a, code: "A-E", extra: ["contract_id": contractA["id"]!])
            let commitmentA = try await result(a, "commitment.create", [
                "contract_id": contractA["id"]!, "kind": "deliverable", "title": "A's", "due_date": "2025-06-30"])
            let termA = try #require(try await result(a, "contract.add_sla_term", [
                "id": contractA["id"]!, "metric": "Availability", "target": 99, "comparison": ">=", "measurement_period": "monthly"])["sla_terms"]?[0]?["id"])
            let projectA = try await result(a, "project.create", ["engagement_id": engagementA["id"]!, "name": "A's"])
            let portfolioA = try await result(a, "portfolio.create", ["name": "A's"])
            let opportunityA = try await result(a, "opportunity.create", [
                "customer_party_id": worldA.customer["id"]!, "title": "A's", "value": 1, "currency": "EUR"])
            // B's side: its own contract, engagement, opportunity and project to hang A's ids on.
            let worldB = try await EngagementWorld.make(b, prefix: "B-")
            let contractB = try await result(b, "contract.create", [
                "customer_party_id": worldB.customer["id"]!, "reference": "B-1", "title": "B", "contract_type": "mou", "currency": "EUR",
                "start_date": "2025-01-01", "end_date": "2025-12-31"])
            let engagementB = try await worldB.engagement(b, code: "B-E", extra: ["contract_id": contractB["id"]!])
            let opportunityB = try await result(b, "opportunity.create", [
                "customer_party_id": worldB.customer["id"]!, "title": "B's", "value": 1, "currency": "EUR"])
            let projectB = try await result(b, "project.create", ["engagement_id": engagementB["id"]!, "name": "B's"])
            let auditBefore = try server.ownerConnection().query("SELECT count(*) FROM app.audit_log").int(0, 0)

            /// Each call with a placeholder `FOREIGN` where A's id goes.
            let calls: [(String, JSONValue, JSONValue)] = [
                ("opportunity.create", ["customer_party_id": "FOREIGN", "title": "x", "value": 1, "currency": "EUR"], worldA.customer["id"]!),
                ("opportunity.create", ["customer_party_id": worldB.customer["id"]!, "title": "x", "value": 1, "currency": "EUR",
                                        "kind": "renewal", "renews_engagement_id": "FOREIGN"], engagementA["id"]!),
                ("opportunity.create", ["customer_party_id": worldB.customer["id"]!, "title": "x", "value": 1, "currency": "EUR",
                                        "contract_ids": ["FOREIGN"]], contractA["id"]!),
                ("opportunity.link_contract", ["id": opportunityB["id"]!, "contract_id": "FOREIGN"], contractA["id"]!),
                ("opportunity.win", ["id": opportunityB["id"]!, "version": 1, "contract_id": "FOREIGN", "engagement": ["code": "W"]], contractA["id"]!),
                ("engagement.create", ["service_id": worldB.service["id"]!, "customer_party_id": worldB.customer["id"]!, "code": "X",
                                       "name": "x", "opportunity_id": "FOREIGN"], opportunityA["id"]!),
                ("commitment.create", ["contract_id": "FOREIGN", "kind": "fte", "title": "x", "fte": 1], contractA["id"]!),
                ("commitment.create", ["contract_id": contractB["id"]!, "kind": "fte", "title": "x", "fte": 1,
                                       "engagement_ids": ["FOREIGN"]], engagementA["id"]!),
                ("project.create", ["engagement_id": "FOREIGN", "name": "x"], engagementA["id"]!),
                ("deliverable.add", ["project_id": "FOREIGN", "title": "x"], projectA["id"]!),
                ("deliverable.add", ["project_id": projectB["id"]!, "title": "x", "commitment_id": "FOREIGN"], commitmentA["id"]!),
                ("report.commitments", ["engagement_id": "FOREIGN"], engagementA["id"]!),
                ("report.commitments", ["contract_id": "FOREIGN"], contractA["id"]!),
                ("report.commitments", ["portfolio_id": "FOREIGN"], portfolioA["id"]!),
                ("sla.credits", ["engagement_id": "FOREIGN"], engagementA["id"]!),
                ("sla.credits", ["contract_id": "FOREIGN"], contractA["id"]!),
                ("sla.explain", ["engagement_id": engagementB["id"]!, "term_id": "FOREIGN", "period": "2025-01"], termA),
                ("sla.add_exclusion", ["term_id": "FOREIGN", "engagement_id": engagementB["id"]!, "starts_at": "2025-01-01T00:00:00Z",
                                       "ends_at": "2025-01-01T01:00:00Z", "reason": "x"], termA),
                ("sla.exclusions", ["term_id": "FOREIGN"], termA),
                ("report.contract_health", ["contract_id": "FOREIGN"], contractA["id"]!),
                ("report.satisfaction", ["kpi": "Availability", "service_id": "FOREIGN"], worldA.service["id"]!),
            ]
            func substitute(_ value: JSONValue, _ id: JSONValue) -> JSONValue {
                switch value {
                case .string("FOREIGN"): id
                case .array(let items): .array(items.map { substitute($0, id) })
                case .object(let object): .object(JSONObject(object.members.map { (key: $0.key, value: substitute($0.value, id)) }))
                default: value
                }
            }
            for (method, params, foreign) in calls {
                let withForeign = try await b.call(method, substitute(params, foreign))
                let withMadeUp = try await b.call(method, substitute(params, .string(UUID().uuidString.lowercased())))
                #expect(withForeign["error"] != nil || withForeign["result"] == withMadeUp["result"], "\(method): \(JSONWriter.string(withForeign))")
                #expect(withForeign["error"] == withMadeUp["error"], "\(method): \(JSONWriter.string(withForeign)) vs \(JSONWriter.string(withMadeUp))")
            }
            #expect(try server.ownerConnection().query("SELECT count(*) FROM app.audit_log").int(0, 0) == auditBefore, "nothing written")
        }
    }
}
