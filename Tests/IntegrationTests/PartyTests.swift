import Credentials
import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

@Suite("Parties")
struct PartyTests {
    func create(_ client: RPCConnection, _ name: String, kind: String = "customer", ref: String? = nil) async throws -> JSONValue {
        var params: JSONObject = ["name": .string(name), "kind": .string(kind)]
        if let ref { params["external_ref"] = .string(ref) }
        let reply = try await client.call("party.create", .object(params))
        return try #require(reply["result"], "\(JSONWriter.string(reply))")
    }

    @Test("create, get, update with versions, delete")
    func lifecycle() async throws {
        let server = try await ServerFixture.start("party-crud")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let created = try await create(client, "  Acme Corp ", ref: "ACME-1")
            #expect(created["name"] == "Acme Corp")
            #expect(created["version"] == 1)
            let id = try #require(created["id"])
            #expect(try await client.call("party.get", ["id": id])["result"] == created)

            let updated = try await client.call("party.update", ["id": id, "version": 1, "name": "Acme Corporation", "external_ref": nil])
            #expect(updated["result"]?["name"] == "Acme Corporation")
            #expect(updated["result"]?["external_ref"] == .null)
            #expect(updated["result"]?["version"] == 2)
            let stale = try await client.call("party.update", ["id": id, "version": 1, "name": "Lost update"])
            #expect(stale.errorCode == -32004)
            #expect(stale.errorReason == "stale_version")
            #expect(try await client.call("party.get", ["id": id])["result"]?["name"] == "Acme Corporation")

            #expect(try await client.call("party.delete", ["id": id, "version": 1]).errorReason == "stale_version")
            #expect(try await client.call("party.delete", ["id": id, "version": 2])["result"]?["deleted"] == true)
            #expect(try await client.call("party.get", ["id": id]).errorCode == -32003)
        }
    }

    @Test("bad input gets -32602 with field paths and writes nothing")
    func validation() async throws {
        let server = try await ServerFixture.start("party-validate")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let cases: [(JSONValue, Set<String>)] = [
                (["kind": "customer"], ["params.name"]),
                (["name": "", "kind": "customer"], ["params.name"]),
                (["name": "X", "kind": "self"], ["params.kind"]),
                (["name": "X", "kind": "customer", "external_ref": 5], ["params.external_ref"]),
                (["name": .string(String(repeating: "n", count: 201)), "kind": "vendor"], ["params.name", "params.kind"]),
                // A NUL character: refused with its path (PostgreSQL text cannot hold it), never stored cut short.
                (["name": "nul-probe\u{0} hidden tail", "kind": "customer"], ["params.name"]),
                (["name": "\u{0}abc", "kind": "customer"], ["params.name"]),
                (["name": "X", "kind": "customer", "external_ref": "R\u{0}"], ["params.external_ref"]),
            ]
            for (params, paths) in cases {
                let reply = try await client.call("party.create", params)
                #expect(reply.errorCode == -32602)
                #expect(Set(reply["error"]?["data"]?["fields"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []) == paths)
            }
            #expect(try await client.call("party.get", ["id": "not-a-uuid"]).errorCode == -32602)
            let search = try await client.call("party.list", ["q": "nul\u{0}"])
            #expect(search.errorCode == -32602 && search.firstErrorPath == "params.q", "a search filter is not cut either")
            let listed = try await client.call("party.list", ["kind": "customer"])
            #expect(listed["result"]?["items"]?.arrayValue?.isEmpty == true)
            _ = try await create(client, "One", ref: "R-1")
            let duplicate = try await client.call("party.create", ["name": "Two", "kind": "customer", "external_ref": "R-1"])
            #expect(duplicate.errorCode == -32004)
            #expect(duplicate["error"]?["message"]?.stringValue?.contains("parties") == false, "no table names in messages")
        }
    }

    @Test("keyset pagination visits every row once, in order, in both directions and both sorts")
    func pagination() async throws {
        let server = try await ServerFixture.start("party-pages")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let names = ["delta", "alpha", "echo", "charlie", "golf", "bravo", "foxtrot"]
            for name in names { _ = try await create(client, name) }
            for (sort, order) in [("name", "asc"), ("name", "desc"), ("created_at", "asc"), ("created_at", "desc")] {
                var seen: [String] = []
                var cursor: JSONValue = .null
                var pages = 0
                repeat {
                    var params: JSONObject = ["kind": "customer", "limit": 3, "sort": .string(sort), "order": .string(order)]
                    if cursor != .null { params["cursor"] = cursor }
                    let reply = try await client.call("party.list", .object(params))
                    let items = try #require(reply["result"]?["items"]?.arrayValue, "\(JSONWriter.string(reply))")
                    seen += items.compactMap { $0["name"]?.stringValue }
                    cursor = reply["result"]?["next_cursor"] ?? .null
                    pages += 1
                } while cursor != .null && pages < 10
                let expected = sort == "name" ? names.sorted() : names
                #expect(seen == (order == "asc" ? expected : expected.reversed()), "\(sort) \(order)")
                #expect(pages == 3)
            }
            let first = try await client.call("party.list", ["limit": 2, "sort": "name"])
            let cursor = try #require(first["result"]?["next_cursor"])
            #expect(try await client.call("party.list", ["limit": 2, "sort": "created_at", "cursor": cursor]).errorCode == -32602)
            #expect(try await client.call("party.list", ["cursor": "bm9wZQ"]).errorCode == -32602)
            #expect(try await client.call("party.list", ["limit": 500]).errorCode == -32602)

            let filtered = try await client.call("party.list", ["q": "HA"])
            #expect(filtered["result"]?["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["alpha", "charlie"])
            #expect(try await client.call("party.list", ["q": "%"])["result"]?["items"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("archived parties are left out of lists unless asked for")
    func archiving() async throws {
        let server = try await ServerFixture.start("party-archive")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let party = try await create(client, "Old customer")
            let archived = try await client.call("party.update", ["id": party["id"]!, "version": 1, "archived": true])
            #expect(archived["result"]?["archived"] == true)
            #expect(try await client.call("party.list", ["kind": "customer"])["result"]?["items"]?.arrayValue?.count == 0)
            #expect(try await client.call("party.list", ["kind": "customer", "include_archived": true])["result"]?["items"]?.arrayValue?.count == 1)
            #expect(try await client.call("party.get", ["id": party["id"]!])["result"]?["archived"] == true)
        }
    }

    @Test("a retried create with the same idempotency key returns the first reply and writes once")
    func idempotency() async throws {
        let server = try await ServerFixture.start("party-idem")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            let params: JSONValue = ["name": "Once", "kind": "customer", "idempotency_key": "retry-1"]
            let first = try await client.call("party.create", params)
            let second = try await client.call("party.create", params)
            #expect(first["result"] != nil && first["result"] == second["result"])
            #expect(try await client.call("party.list", ["kind": "customer"])["result"]?["items"]?.arrayValue?.count == 1)
            let reused = try await client.call("party.create", ["name": "Different", "kind": "customer", "idempotency_key": "retry-1"])
            #expect(reused.errorReason == "idempotency_key_reused")
            // Keys are per organisation: B may use the same key for its own party.
            let b = try await server.session(server.orgB)
            let other = try await b.call("party.create", params)
            #expect(other["result"]?["id"] != nil && other["result"]?["id"] != first["result"]?["id"])
        }
    }

    @Test("viewers and members read but cannot write parties; the database refuses even without the method check")
    func roles() async throws {
        let server = try await ServerFixture.start("party-roles")
        try await server.scoped {
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            var keys: [TenantAdministrator.Role: String] = [:]
            for role in [TenantAdministrator.Role.viewer, .member, .manager] {
                _ = try admin.createUser(organisationID: server.orgA.id, email: "\(role.rawValue)@a.example", name: role.rawValue, role: role)
                keys[role] = try admin.issueKey(organisationID: server.orgA.id, userEmail: "\(role.rawValue)@a.example").key.text
            }
            let adminClient = try await server.session(server.orgA)
            let existing = try await create(adminClient, "Existing")
            for (role, key) in keys {
                let client = try await server.connect()
                #expect(try await client.call("session.authenticate", ["api_key": .string(key)])["result"] != nil)
                #expect(try await client.call("party.get", ["id": existing["id"]!])["result"] != nil)
                #expect(try await client.call("party.list")["result"] != nil)
                let write = try await client.call("party.create", ["name": .string("By \(role.rawValue)"), "kind": "customer"])
                #expect((write.errorCode == -32002) == (role != .manager), "\(role): \(JSONWriter.string(write))")
            }
            // Straight to the database as the server's role, with a viewer's context: RLS refuses the write.
            let app = try PostgresConnection.connect(try server.deployment.applicationURL)
            defer { app.close() }
            let viewerKeyID = try #require(APIKey(parsing: keys[.viewer]!)).keyID
            #expect {
                try app.pipeline([
                    Statement("SELECT app.begin_call($1, 'test')", [viewerKeyID]),
                    Statement("INSERT INTO app.parties (organisation_id, kind, name) VALUES (app.current_organisation_id(), 'customer', 'sneaky')"),
                ])
            } throws: { ($0 as? PostgresError)?.serverError?.sqlState == .insufficientPrivilege }
            #expect {
                try app.pipeline([
                    Statement("SELECT app.begin_call($1, 'test')", [viewerKeyID]),
                    Statement("INSERT INTO app.audit_log (organisation_id, method, entity, entity_id, action) VALUES (app.current_organisation_id(), 'x', 'x', gen_random_uuid(), 'insert')"),
                ])
            } throws: { ($0 as? PostgresError)?.serverError?.sqlState == .insufficientPrivilege }
        }
    }

    @Test("another organisation's party id behaves exactly like a missing one, and stays unchanged")
    func isolation() async throws {
        let server = try await ServerFixture.start("party-isolation")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let party = try await create(a, "A's customer", ref: "SHARED-REF")
            let id = try #require(party["id"])
            let missing: JSONValue = .string(UUID().uuidString.lowercased())
            for target in [id, missing] {
                let replies = [
                    try await b.call("party.get", ["id": target]),
                    try await b.call("party.update", ["id": target, "version": 1, "name": "hijacked"]),
                    try await b.call("party.delete", ["id": target, "version": 1]),
                ]
                for reply in replies {
                    #expect(reply.errorCode == -32003)
                    #expect(reply["error"]?["message"] == "Not found")
                }
            }
            // B may use the same external reference: uniqueness is per organisation and says nothing about A.
            #expect(try await b.call("party.create", ["name": "B's", "kind": "customer", "external_ref": "SHARED-REF"])["result"] != nil)
            let bNames = try await b.call("party.list", ["include_archived": true])["result"]?["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
            #expect(bNames?.contains("A's customer") == false)
            #expect(try await a.call("party.get", ["id": id])["result"] == party)
        }
    }

    @Test("each organisation has its own read-only self party")
    func selfParty() async throws {
        let server = try await ServerFixture.start("party-self")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let own = try #require(try await a.call("party.list", ["kind": "self"])["result"]?["items"]?.arrayValue)
            #expect(own.count == 1)
            #expect(own.first?["name"] == "Organisation A")
            let id = try #require(own.first?["id"])
            #expect(try await a.call("party.update", ["id": id, "version": 1, "name": "renamed"]).errorReason == "self_party")
            #expect(try await a.call("party.delete", ["id": id, "version": 1]).errorReason == "self_party")
        }
    }

    @Test("every write is in the audit log with method, user, before and after")
    func auditLog() async throws {
        let server = try await ServerFixture.start("party-audit")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let party = try await create(a, "Audited")
            let id = try #require(party["id"]?.stringValue)
            _ = try await a.call("party.update", ["id": .string(id), "version": 1, "name": "Audited 2"])
            _ = try await a.call("party.delete", ["id": .string(id), "version": 2])
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let log = try owner.query(
                """
                SELECT l.action, l.method, l.before ->> 'name', l.after ->> 'name', u.email
                FROM app.audit_log l JOIN app.users u ON u.organisation_id = l.organisation_id AND u.id = l.user_id
                WHERE l.entity = 'parties' AND l.entity_id = $1::uuid ORDER BY l.id
                """, [id])
            #expect(log.rowCount == 3)
            #expect((0..<3).map { log.string($0, 0) } == ["insert", "update", "delete"])
            #expect((0..<3).map { log.string($0, 1) } == ["party.create", "party.update", "party.delete"])
            #expect((0..<3).map { log.string($0, 2) } == [nil, "Audited", "Audited 2"])
            #expect((0..<3).map { log.string($0, 3) } == ["Audited", "Audited 2", nil])
            #expect((0..<3).allSatisfy { log.string($0, 4) == "admin@a.example" })
            // B sees none of A's audit rows through the server's role.
            let app = try PostgresConnection.connect(try server.deployment.applicationURL)
            defer { app.close() }
            let keyID = try #require(APIKey(parsing: server.orgB.apiKey)).keyID
            let seen = try app.pipeline([
                Statement("SELECT app.begin_call($1, 'test')", [keyID]),
                Statement("SELECT count(*) FROM app.audit_log WHERE entity_id = $1::uuid", [id]),
            ])
            #expect(seen[1].int(0, 0) == 0)
        }
    }
}
