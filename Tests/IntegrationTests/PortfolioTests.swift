import EngagementClient
import Foundation
import PostgresClient
import JSONRPC
import Testing

@Suite("Portfolios")
struct PortfolioTests {
    @Test("portfolios group services many-to-many and filter service, engagement and portfolio lists")
    func grouping() async throws {
        let server = try await ServerFixture.start("portfolios")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            let other = try #require(try await a.call("service.create", ["code": "CLOUD", "name": "Cloud"])["result"])
            _ = try await world.engagement(a, code: "P1")
            let keyAccounts = try #require(try await a.call("portfolio.create", ["name": "Key Accounts"])["result"])
            let government = try #require(try await a.call("portfolio.create", ["name": "Government", "description": "public sector"])["result"])
            #expect(try await a.call("portfolio.create", ["name": "key accounts"]).errorCode == -32004)

            var updated = try await a.call("portfolio.add_service", ["id": keyAccounts["id"]!, "service_id": world.service["id"]!])
            updated = try await a.call("portfolio.add_service", ["id": keyAccounts["id"]!, "service_id": other["id"]!])
            _ = try await a.call("portfolio.add_service", ["id": keyAccounts["id"]!, "service_id": other["id"]!])  // no effect
            _ = try await a.call("portfolio.add_service", ["id": government["id"]!, "service_id": world.service["id"]!])
            #expect(updated["result"]?["services"]?.arrayValue?.compactMap { $0["code"]?.stringValue } == ["CLOUD", "MITS"])

            func codes(_ method: String, _ params: JSONValue, _ field: String = "code") async throws -> [String] {
                let reply = try await a.call(method, params)
                return try #require(reply["result"]?["items"]?.arrayValue, "\(JSONWriter.string(reply))").compactMap { $0[field]?.stringValue }
            }
            #expect(try await codes("service.list", ["portfolio_id": government["id"]!]) == ["MITS"])
            #expect(try await codes("service.list", ["portfolio_id": keyAccounts["id"]!]).sorted() == ["CLOUD", "MITS"])
            #expect(try await codes("engagement.list", ["portfolio_id": government["id"]!]) == ["P1"])
            #expect(try await codes("portfolio.list", ["service_id": other["id"]!], "name") == ["Key Accounts"])

            let removed = try await a.call("portfolio.remove_service", ["id": keyAccounts["id"]!, "service_id": world.service["id"]!])
            #expect(removed["result"]?["services"]?.arrayValue?.compactMap { $0["code"]?.stringValue } == ["CLOUD"])
            #expect(try await a.call("service.delete", ["id": other["id"]!, "version": 1])["result"]?["deleted"] == true,
                    "membership does not keep a service alive")
            #expect(try await a.call("portfolio.get", ["id": keyAccounts["id"]!])["result"]?["services"]?.arrayValue?.isEmpty == true)
            #expect(try await a.call("portfolio.delete", ["id": government["id"]!, "version": 1])["result"]?["deleted"] == true)
            #expect(try await a.call("service.get", ["id": world.service["id"]!])["result"] != nil, "services outlive portfolios")

            // Membership changes are audited under the portfolio.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let audited = try owner.query(
                "SELECT action, method FROM app.audit_log WHERE entity = 'portfolio_services' AND entity_id = $1::uuid ORDER BY id",
                [keyAccounts["id"]!.stringValue!])
            #expect((0..<audited.rowCount).map { audited.string($0, 1) }.prefix(2) == ["portfolio.add_service", "portfolio.add_service"])
            #expect((0..<audited.rowCount).contains { audited.string($0, 0) == "delete" })
        }
    }

    @Test("another organisation's portfolio or service behaves like a missing one")
    func isolation() async throws {
        let server = try await ServerFixture.start("portfolio-iso")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let portfolio = try #require(try await a.call("portfolio.create", ["name": "A's"])["result"])
            let bService = try #require(try await b.call("service.create", ["code": "BS", "name": "B's"])["result"])
            var errors: [JSONValue] = []
            for service in [bService["id"]!, .string(UUID().uuidString.lowercased())] {
                let reply = try await a.call("portfolio.add_service", ["id": portfolio["id"]!, "service_id": service])
                #expect(reply.errorCode == -32602)
                errors.append(reply["error"]!)
            }
            #expect(errors[0] == errors[1])
            for (method, params) in [
                ("portfolio.get", ["id": portfolio["id"]!]), ("portfolio.update", ["id": portfolio["id"]!, "version": 1, "name": "x"]),
                ("portfolio.delete", ["id": portfolio["id"]!, "version": 1]),
                ("portfolio.add_service", ["id": portfolio["id"]!, "service_id": bService["id"]!]),
            ] as [(String, JSONValue)] {
                #expect(try await b.call(method, params).errorCode == -32003, "\(method)")
            }
            #expect(try await a.call("portfolio.get", ["id": portfolio["id"]!])["result"] == portfolio)
        }
    }
}
