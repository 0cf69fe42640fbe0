import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

@Suite("Engagement hierarchy")
struct HierarchyTests {
    func path(_ reply: JSONValue) -> String? { reply["error"]?["data"]?["fields"]?[0]?["path"]?.stringValue }

    /// Places `child` under `parent` (nil: makes it a root) and returns the reply.
    func place(_ client: RPCConnection, _ child: JSONValue, under parent: JSONValue?) async throws -> JSONValue {
        let current = try #require(try await client.call("engagement.get", ["id": child["id"]!])["result"])
        return try await client.call("engagement.set_parent", [
            "id": child["id"]!, "version": current["version"]!, "parent_id": parent?["id"] ?? .null])
    }

    @Test("trees and ancestors read back as built; cycles and foreign parents are refused")
    func treeAndCycles() async throws {
        let server = try await ServerFixture.start("tree")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            var nodes: [String: JSONValue] = [:]
            for code in ["R", "A", "B", "C", "A1", "A11"] { nodes[code] = try await world.engagement(a, code: code) }
            for (child, parent) in [("A", "R"), ("B", "R"), ("C", "R"), ("A1", "A"), ("A11", "A1")] {
                let reply = try await place(a, nodes[child]!, under: nodes[parent]!)
                #expect(reply["result"]?["parent_id"] == nodes[parent]!["id"], "\(child): \(JSONWriter.string(reply))")
            }
            let tree = try #require(try await a.call("engagement.tree", ["id": nodes["R"]!["id"]!])["result"]?.arrayValue)
            let depths = Dictionary(uniqueKeysWithValues: tree.map { ($0["code"]!.stringValue!, $0["depth"]!.intValue!) })
            #expect(depths == ["R": 0, "A": 1, "B": 1, "C": 1, "A1": 2, "A11": 3])
            let a11 = try #require(tree.first { $0["code"] == "A11" })
            #expect(a11["path"] == [nodes["R"]!["id"]!, nodes["A"]!["id"]!, nodes["A1"]!["id"]!, nodes["A11"]!["id"]!])
            let ancestors = try #require(try await a.call("engagement.ancestors", ["id": nodes["A11"]!["id"]!])["result"]?.arrayValue)
            #expect(ancestors.compactMap { $0["code"]?.stringValue } == ["A1", "A", "R"])
            #expect(try await a.call("engagement.get", ["id": nodes["R"]!["id"]!])["result"]?["children_count"] == 3)
            #expect(try await a.call("engagement.tree", ["id": nodes["A"]!["id"]!, "status": "active"])["result"] == [])

            let cycle = try await place(a, nodes["R"]!, under: nodes["A11"]!)
            #expect(cycle.errorCode == -32602 && path(cycle) == "params.parent_id")
            #expect(path(try await place(a, nodes["B"]!, under: nodes["B"]!)) == "params.parent_id")

            let b = try await server.session(server.orgB)
            let worldB = try await EngagementWorld.make(b, prefix: "B-")
            let foreign = try await worldB.engagement(b, code: "BX")
            let missing: JSONValue = ["id": .string(UUID().uuidString.lowercased())]
            let errors = [try await place(a, nodes["C"]!, under: foreign), try await place(a, nodes["C"]!, under: missing)]
            #expect(errors.allSatisfy { $0.errorCode == -32602 && path($0) == "params.parent_id" })
            #expect(errors[0]["error"] == errors[1]["error"], "another organisation's engagement and a missing one look alike")
            #expect(try await b.call("engagement.tree", ["id": nodes["R"]!["id"]!]).errorCode == -32003)

            let detached = try await place(a, nodes["A"]!, under: nil)
            #expect(detached["result"]?["parent_id"] == .null)
            #expect(try await a.call("engagement.tree", ["id": nodes["R"]!["id"]!])["result"]?.arrayValue?.count == 3)

            // Tenant DBAs see the same shape.
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let role = try TenantAdministrator(owner: owner).createReportingRole(
                organisationID: server.orgA.id, name: "rpt_tree_\(UUID().uuidString.prefix(6).lowercased())")
            let dba = try PostgresConnection.connect(try Conninfo.replacing(["user": role.name, "password": role.password], in: try server.deployment.superuserURL))
            defer { dba.close() }
            let row = try dba.query("SELECT root_code, depth, cardinality(path) FROM reporting.engagement_tree WHERE code = 'A11'")
            #expect(row.string(0, 0) == "A" && row.int(0, 1) == 3 && row.int(0, 2) == 3)
        }
    }

    @Test("trees are at most 8 levels deep; archived engagements stay where they are")
    func depthAndArchived() async throws {
        let server = try await ServerFixture.start("depth")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(a)
            var chain: [JSONValue] = []
            for level in 1...9 { chain.append(try await world.engagement(a, code: "L\(level)")) }
            for level in 1..<8 { #expect(try await place(a, chain[level], under: chain[level - 1])["result"] != nil) }
            let tooDeep = try await place(a, chain[8], under: chain[7])
            #expect(tooDeep.errorCode == -32602 && path(tooDeep) == "params.parent_id")
            // A subtree counts with all its levels: L9 with a child cannot go under L7 either.
            let leaf = try await world.engagement(a, code: "LEAF")
            #expect(try await place(a, leaf, under: chain[8])["result"] != nil)
            #expect(path(try await place(a, chain[8], under: chain[6])) == "params.parent_id")

            var archived = try await world.engagement(a, code: "OLD")
            for status in ["active", "completed", "archived"] { archived = try #require(try await a.move(archived, to: status)["result"]) }
            let moveArchived = try await place(a, archived, under: chain[0])
            #expect(moveArchived.errorCode == -32007 && moveArchived.errorReason == "archived_in_hierarchy")
            let underArchived = try await place(a, leaf, under: archived)
            #expect(underArchived.errorCode == -32007)
        }
    }

    @Test("two opposite moves at the same time cannot form a cycle")
    func concurrentMoves() async throws {
        let server = try await ServerFixture.start("race")
        try await server.scoped {
            let setup = try await server.session(server.orgA)
            let world = try await EngagementWorld.make(setup)
            for round in 0..<5 {
                let x = try await world.engagement(setup, code: "X\(round)")
                let y = try await world.engagement(setup, code: "Y\(round)")
                let first = try await server.session(server.orgA)
                let second = try await server.session(server.orgA)
                async let one = first.call("engagement.set_parent", ["id": x["id"]!, "version": 1, "parent_id": y["id"]!])
                async let two = second.call("engagement.set_parent", ["id": y["id"]!, "version": 1, "parent_id": x["id"]!])
                let replies = try await [one, two]
                #expect(replies.filter { $0["result"] != nil }.count == 1, "\(replies.map { JSONWriter.string($0) })")
                #expect(replies.filter { $0.errorCode == -32602 }.count == 1)
                let xUp = try await setup.call("engagement.ancestors", ["id": x["id"]!])["result"]?.arrayValue ?? []
                let yUp = try await setup.call("engagement.ancestors", ["id": y["id"]!])["result"]?.arrayValue ?? []
                #expect(xUp.count + yUp.count == 1, "one is the other's parent, nothing more")
            }
        }
    }
}
