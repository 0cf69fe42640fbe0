import EngagementClient
import Foundation
import JSONRPC
import Testing

@Suite("Contracts")
struct ContractTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

    @Test("contracts keep exact amounts, carry rates and SLA terms, and link engagements of the same customer")
    func contracts() async throws {
        let server = try await ServerFixture.start("contracts")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            let created = try await a.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "C-2025-001", "title": "Managed services 2025",
                "contract_type": "time_and_materials", "total_value": .number("1234567890123.45"), "currency": "EUR",
                "start_date": "2025-01-01", "end_date": "2025-12-31"])
            let contract = try #require(created["result"], "\(JSONWriter.string(created))")
            #expect(contract["total_value"] == .number("1234567890123.45"), "numeric, not floating point")
            #expect(contract["status"] == "draft" && contract["customer"]?["name"] == "Acme Corp")
            let id = try #require(contract["id"])

            let mou = try await a.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "MOU-1", "title": "Memorandum", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01"])
            #expect(mou["result"]?["total_value"] == .null)
            let valueless = try await a.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "FF-1", "title": "Fixed", "contract_type": "fixed_fee",
                "currency": "EUR", "start_date": "2025-01-01"])
            #expect(valueless.errorCode == -32602 && path(valueless) == "params.total_value")
            let partner = try await a.call("contract.create", [
                "customer_party_id": world.partner["id"]!, "reference": "P-1", "title": "x", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01"])
            #expect(path(partner) == "params.customer_party_id")
            #expect(try await a.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "c-2025-001", "title": "dup", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01"]).errorCode == -32004)
            #expect(path(try await a.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "X", "title": "x", "contract_type": "mou",
                "currency": "eur", "start_date": "2025-01-01"])) == "params.currency")

            _ = try await a.call("contract.set_rate", ["id": id, "rate_key": "Senior engineer", "rate_per_hour": 150])
            let rated = try await a.call("contract.set_rate", ["id": id, "rate_key": "Senior engineer", "rate_per_hour": .number("162.50")])
            #expect(rated["result"]?["rates"] == [["rate_key": "Senior engineer", "rate_per_hour": .number("162.50")]])
            let withSLA = try await a.call("contract.add_sla_term", [
                "id": id, "metric": "availability", "target": .number("99.9"), "comparison": ">=", "measurement_period": "monthly",
                "penalty": ["tiers": [["threshold": .number("99.5"), "credit_percent": 5], ["threshold": 99, "credit_percent": 10]], "cap_percent": 15],
                "exclusions": "planned maintenance"])
            let term = try #require(withSLA["result"]?["sla_terms"]?[0])
            #expect(term["penalty"]?["tiers"]?.arrayValue?.count == 2 && term["target"] == .number("99.9"))
            let changed = try await a.call("contract.update_sla_term", ["id": id, "term_id": term["id"]!, "target": .number("99.95")])
            #expect(changed["result"]?["sla_terms"]?[0]?["target"] == .number("99.95"))
            #expect(changed["result"]?["sla_terms"]?[0]?["exclusions"] == "planned maintenance", "untouched fields keep their value")
            #expect(try await a.call("contract.add_sla_term", [
                "id": id, "metric": "x", "target": 1, "comparison": "==", "measurement_period": "monthly"]).errorCode == -32602)
            let withoutRate = try await a.call("contract.remove_rate", ["id": id, "rate_key": "Senior engineer"])
            #expect(withoutRate["result"]?["rates"]?.arrayValue?.isEmpty == true)

            let linked = try await world.engagement(a, code: "CE1", extra: ["contract_id": id])
            #expect(linked["contract_id"] == id)
            #expect(try await a.call("contract.get", ["id": id])["result"]?["engagement_count"] == 1)
            let otherCustomer = try #require(try await a.call("party.create", ["name": "Other", "kind": "customer"])["result"])
            let mismatch = try await world.engagement(a, code: "CE2")
            let wrong = try await a.call("engagement.update", ["id": mismatch["id"]!, "version": 1, "customer_party_id": otherCustomer["id"]!, "contract_id": id])
            #expect(wrong.errorCode == -32602 && path(wrong) == "params.contract_id")
            #expect(try await a.call("contract.update", ["id": id, "version": 1, "customer_party_id": otherCustomer["id"]!]).errorCode == -32602,
                    "a contract keeps the customer of its engagements")
            #expect(try await a.call("contract.delete", ["id": id, "version": 1]).errorReason == "in_use")
            let listed = try await a.call("contract.list", ["contract_type": "time_and_materials", "q": "managed"])
            #expect(listed["result"]?["items"]?.arrayValue?.count == 1)
        }
    }

    @Test("another organisation's contracts are out of reach, also as references")
    func isolation() async throws {
        let server = try await ServerFixture.start("contracts-iso")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let worldA = try await EngagementWorld.make(a)
            let worldB = try await EngagementWorld.make(b, prefix: "B-")
            let bContract = try #require(try await b.call("contract.create", [
                "customer_party_id": worldB.customer["id"]!, "reference": "B-1", "title": "B's", "contract_type": "mou",
                "currency": "EUR", "start_date": "2025-01-01"])["result"])
            for (method, params) in [
                ("contract.get", ["id": bContract["id"]!]), ("contract.update", ["id": bContract["id"]!, "version": 1, "title": "x"]),
                ("contract.delete", ["id": bContract["id"]!, "version": 1]),
                ("contract.set_rate", ["id": bContract["id"]!, "rate_key": "x", "rate_per_hour": 1]),
            ] as [(String, JSONValue)] {
                #expect(try await a.call(method, params).errorCode == -32003, "\(method)")
            }
            let foreign = try await a.call("engagement.create", [
                "service_id": worldA.service["id"]!, "customer_party_id": worldA.customer["id"]!, "code": "F1", "name": "x",
                "contract_id": bContract["id"]!])
            #expect(foreign.errorCode == -32602 && path(foreign) == "params.contract_id")
            #expect(try await b.call("contract.get", ["id": bContract["id"]!])["result"] == bContract)
        }
    }
}
