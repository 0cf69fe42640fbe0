import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// Point-in-time reads against hand-worked histories: each step's moment is read from the database clock
/// between the steps, and the answer at that moment must be that step's state.
@Suite("Point-in-time reads")
struct PointInTimeTests {
    @Test("engagement.get and contract.get as_of answer what was true then, from the audit log, and say so")
    func history() async throws {
        let server = try await ServerFixture.start("as-of")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let owner = try server.ownerConnection()
            defer { owner.close() }
            func now() throws -> JSONValue { .string(try owner.query("SELECT to_json(clock_timestamp())#>>'{}'").string(0, 0)!) }
            let world = try await EngagementWorld.make(a)
            let before = try now()
            let contract = try #require(try await a.call("contract.create", [
                "customer_party_id": world.customer["id"]!, "reference": "K-1", "title": "Original title", "contract_type": "fixed_fee",
                "total_value": 1000, "currency": "EUR", "start_date": "2025-01-01"])["result"])
            _ = try #require(try await a.call("contract.set_rate", ["id": contract["id"]!, "rate_key": "Engineer", "rate_per_hour": 100])["result"])
            let draft = try await world.engagement(a, code: "H1", extra: ["contract_id": contract["id"]!])
            let t1 = try now()  // draft, original name, one rate, no SLA term, no partner
            let active = try #require(try await a.move(draft, to: "active")["result"])
            _ = try #require(try await a.call("engagement.add_deliverer", ["id": draft["id"]!, "party_id": world.partner["id"]!, "role": "partner"])["result"])
            let t2 = try now()  // active, with the partner
            let current = try #require(try await a.call("engagement.get", ["id": draft["id"]!])["result"])
            _ = try #require(try await a.call("engagement.update", ["id": draft["id"]!, "version": current["version"]!, "name": "Renamed"])["result"])
            let k = try #require(try await a.call("contract.get", ["id": contract["id"]!])["result"])
            _ = try #require(try await a.call("contract.update", ["id": contract["id"]!, "version": k["version"]!, "title": "New title"])["result"])
            _ = try #require(try await a.call("contract.set_rate", ["id": contract["id"]!, "rate_key": "Engineer", "rate_per_hour": 120])["result"])
            _ = try #require(try await a.call("contract.add_sla_term", [
                "id": contract["id"]!, "metric": "availability", "target": 99, "comparison": ">=", "measurement_period": "monthly"])["result"])
            #expect(active["status"] == "active")

            let atT1 = try #require(try await a.call("engagement.get", ["id": draft["id"]!, "as_of": t1])["result"])
            #expect(atT1["status"] == "draft" && atT1["name"] == draft["name"] && atT1["deliverers"]?.arrayValue?.count == 1,
                    "\(JSONWriter.string(atT1))")
            #expect(atT1["as_of"] != nil && atT1["sources"]?["engagement"] == "audit_log")
            let atT2 = try #require(try await a.call("engagement.get", ["id": draft["id"]!, "as_of": t2])["result"])
            #expect(atT2["status"] == "active" && atT2["name"] == draft["name"] && atT2["deliverers"]?.arrayValue?.count == 2)
            let latest = try #require(try await a.call("engagement.get", ["id": draft["id"]!])["result"])
            #expect(latest["name"] == "Renamed" && latest["as_of"] == nil)

            let contractThen = try #require(try await a.call("contract.get", ["id": contract["id"]!, "as_of": t2])["result"])
            #expect(contractThen["title"] == "Original title" && contractThen["sla_terms"] == [])
            #expect(contractThen["rates"]?[0]?["rate_per_hour"] == .number("100.00"), "\(JSONWriter.string(contractThen))")
            let contractNow = try #require(try await a.call("contract.get", ["id": contract["id"]!])["result"])
            #expect(contractNow["title"] == "New title" && contractNow["rates"]?[0]?["rate_per_hour"] == .number("120.00"))

            let tooEarly = try await a.call("engagement.get", ["id": draft["id"]!, "as_of": before])
            #expect(tooEarly.errorCode == -32602 && tooEarly.firstErrorPath == "params.as_of")
            let b = try await server.session(server.orgB)
            let foreign = try await b.call("engagement.get", ["id": draft["id"]!, "as_of": t2])
            #expect(foreign.errorCode == -32003, "another organisation's engagement, then or now, is not found")
        }
    }
}
