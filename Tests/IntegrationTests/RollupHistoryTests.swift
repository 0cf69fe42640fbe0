import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

/// engagement.rollup with as_of, against RollupTests' account worked by hand: before C2 went on hold and its
/// risks were raised, the rollup said so; statuses, risks and the subtree come from the audit log.
@Suite("Rollups as of a moment")
struct RollupHistoryTests {
    @Test("as_of rebuilds the subtree, statuses, contract values and open risks of that moment, and says so")
    func history() async throws {
        let server = try await ServerFixture.start("rollup-history")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let owner = try server.ownerConnection()
            defer { owner.close() }
            func now() throws -> JSONValue { .string(try owner.query("SELECT to_json(clock_timestamp())#>>'{}'").string(0, 0)!) }
            let before = try now()
            let ids = try await RollupTests.buildAccount(a)
            let built = try now()
            // Later: G leaves the subtree, C1's risk is resolved, C2 is archived? (no: only on hold → active).
            let g = try #require(try await a.call("engagement.get", ["id": ids["G"]!])["result"])
            _ = try #require(try await a.call("engagement.set_parent", ["id": ids["G"]!, "version": g["version"]!, "parent_id": .null])["result"])
            let risks = try #require(try await a.call("risk.list", ["engagement_id": ids["C1"]!])["result"]?["items"]?.arrayValue)
            let outage = try #require(risks.first { $0["title"] == "Outage" })
            _ = try #require(try await a.call("risk.resolve", ["id": outage["id"]!, "version": outage["version"]!])["result"])

            let nowRollup = try #require(try await a.call("engagement.rollup", ["id": ids["P"]!, "fresh": true])["result"])
            #expect(nowRollup["engagements"] == 4 && nowRollup["risks"]?["open"] == 1)
            let then = try #require(try await a.call("engagement.rollup", ["id": ids["P"]!, "as_of": built])["result"])
            #expect(then["source"] == "history" && then["sources"]?["risks"] == "audit_log")
            #expect(then["engagements"] == 5, "G was still under C1: \(JSONWriter.string(then))")
            #expect(then["by_status"]?["on_hold"] == 1 && then["by_status"]?["draft"] == 1 && then["by_status"]?["active"] == 3)
            #expect(then["risks"]?["open"] == 2 && then["risks"]?["by_severity"]?["critical"] == 1)
            #expect(then["contract_value"]?["EUR"] == .number("100000.00") && then["contract_value"]?["GBP"] == .number("50000.00"))
            #expect(then["health"]?["by_band"]?["red"] == 1 && then["health"]?["by_band"]?["green"] == 1 && then["health"]?["by_band"]?["amber"] == 1)
            let tooEarly = try await a.call("engagement.rollup", ["id": ids["P"]!, "as_of": before])
            #expect(tooEarly.errorCode == -32602 && tooEarly.firstErrorPath == "params.as_of")
        }
    }
}
