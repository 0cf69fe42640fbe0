import Credentials
import Crypto
import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import PostgresClient
import TenantAdministration
import Testing

@Suite("Authentication")
struct AuthTests {
    @Test("a good key binds the session to its organisation, user and role")
    func goodKey() async throws {
        let server = try await ServerFixture.start("goodkey")
        try await server.scoped {
            let client = try await server.connect()
            let reply = try await client.call("session.authenticate", ["api_key": .string(server.orgB.apiKey)])
            #expect(reply["result"]?["organisation_id"]?.stringValue == server.orgB.id.uuidString.lowercased())
            #expect(reply["result"]?["role"] == "admin")
            let whoami = try await client.call("session.whoami")
            #expect(whoami["result"]?["organisation"]?["name"] == "Organisation B")
            #expect(whoami["result"]?["user"]?["email"] == "admin@b.example")
        }
    }

    @Test("before authentication only ping, discover and authenticate answer")
    func unauthenticated() async throws {
        let server = try await ServerFixture.start("unauth", registry: TestMethods.registry)
        try await server.scoped {
            let client = try await server.connect()
            #expect(try await client.call("system.ping")["result"] != nil)
            #expect(try await client.call("rpc.discover")["result"] != nil)
            #expect(try await client.call("session.whoami").errorCode == -32001)
            #expect(try await client.call("test.admin_only").errorCode == -32001)
        }
    }

    @Test("malformed, unknown and revoked keys are refused alike, and nothing is bound")
    func badKeys() async throws {
        // Seven bad keys on one connection: beyond the throttle's defaults, which AuthenticationThrottleTests covers.
        let server = try await ServerFixture.start("badkeys") {
            $0.authenticationFailuresPerConnection = 100
            $0.authenticationFailuresPerAddress = 100
        }
        try await server.scoped {
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            let revoked = try admin.issueKey(organisationID: server.orgA.id, label: "to revoke")
            try admin.revokeKey(organisationID: server.orgA.id, key: revoked.key.keyID)
            let genuine = try #require(APIKey(parsing: server.orgA.apiKey))
            let tampered = String(server.orgA.apiKey.dropLast()) + (server.orgA.apiKey.last == "0" ? "1" : "0")
            let candidates = ["", "hello", "esk_nope", APIKey.generate().text, revoked.key.text, tampered,
                              server.orgA.apiKey.uppercased(), "esk_\(genuine.keyID)_" + String(repeating: "0", count: 64)]
            let client = try await server.connect()
            for candidate in candidates {
                let reply = try await client.call("session.authenticate", ["api_key": .string(candidate)])
                if candidate.isEmpty {
                    #expect(reply.errorCode == -32602)
                } else {
                    #expect(reply.errorCode == -32001, "\(candidate) → \(JSONWriter.string(reply))")
                    #expect(reply["error"]?["message"] == "Unauthenticated: invalid API key")
                }
                #expect(try await client.call("session.whoami").errorCode == -32001)
            }
        }
    }

    @Test("revoking a key ends its sessions at their next call")
    func revocationDuringSession() async throws {
        let server = try await ServerFixture.start("revoke")
        try await server.scoped {
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            let issued = try admin.issueKey(organisationID: server.orgA.id, label: "session")
            let client = try await server.connect()
            #expect(try await client.call("session.authenticate", ["api_key": .string(issued.key.text)])["result"] != nil)
            #expect(try await client.call("session.whoami")["result"] != nil)
            try admin.revokeKey(organisationID: server.orgA.id, key: issued.key.text)
            let refused = try await client.call("session.whoami")
            #expect(refused.errorCode == -32001)
            #expect(refused.errorReason == "key_revoked")
            #expect(try await client.call("session.whoami").errorReason == "not_authenticated")
        }
    }

    @Test("a failed re-authentication unbinds the earlier session")
    func failedReauthentication() async throws {
        let server = try await ServerFixture.start("reauth")
        try await server.scoped {
            let client = try await server.session(server.orgA)
            #expect(try await client.call("session.authenticate", ["api_key": .string(APIKey.generate().text)]).errorCode == -32001)
            #expect(try await client.call("session.whoami").errorCode == -32001)
        }
    }

    @Test("a role below the method's minimum gets -32002")
    func forbidden() async throws {
        let server = try await ServerFixture.start("forbidden", registry: TestMethods.registry)
        try await server.scoped {
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            _ = try admin.createUser(organisationID: server.orgA.id, email: "viewer@a.example", name: "Viewer", role: .viewer)
            let viewerKey = try admin.issueKey(organisationID: server.orgA.id, userEmail: "viewer@a.example")
            let viewer = try await server.connect()
            #expect(try await viewer.call("session.authenticate", ["api_key": .string(viewerKey.key.text)])["result"]?["role"] == "viewer")
            let refused = try await viewer.call("test.admin_only")
            #expect(refused.errorCode == -32002)
            #expect(refused.errorReason == "role_too_low")
            #expect(try await viewer.call("session.whoami")["result"]?["role"] == "viewer")
            let administrator = try await server.session(server.orgA)
            #expect(try await administrator.call("test.admin_only")["result"] == true)
        }
    }

    @Test("keys are stored only as SHA-256; neither they nor the database password appear in logs")
    func secretsStaySecret() async throws {
        let logs = CapturedLogs()
        let server = try await ServerFixture.start("secrets", logger: logs.logger) { $0.logLevel = "trace" }
        try await server.scoped {
            let key = try #require(APIKey(parsing: server.orgA.apiKey))
            let secret = String(server.orgA.apiKey.suffix(64))
            let client = try await server.connect()
            #expect(try await client.call("session.authenticate", ["api_key": .string(server.orgA.apiKey)])["result"] != nil)
            let wrong = "esk_\(key.keyID)_" + String(repeating: "a", count: 64)
            #expect(try await client.call("session.authenticate", ["api_key": .string(wrong)]).errorCode == -32001)
            #expect(try await client.call("session.authenticate", [.string(server.orgA.apiKey)])["result"] != nil)
            #expect(!logs.all.isEmpty, "the server logged something")
            #expect(logs.all.contains { $0.contains(key.keyID) }, "the key id is logged, to trace a leak")
            #expect(!logs.all.contains { $0.contains(secret) || $0.contains(String(repeating: "a", count: 64)) })

            let owner = try server.ownerConnection()
            defer { owner.close() }
            let stored = try owner.query("SELECT key_hash, row_to_json(k)::text FROM app.api_keys k WHERE key_id = $1", [key.keyID])
            #expect(stored.bytea(0, 0) == Array(SHA256.hash(data: Data(server.orgA.apiKey.utf8))))
            #expect(stored.string(0, 1)?.contains(secret) == false)
            // Nor the database password, whatever the service lifecycle logs when it starts and stops services.
            try await server.stop()
            #expect(logs.all.contains { $0.contains("RollupRefresher") }, "the services' names are logged")
            #expect(!logs.all.contains { $0.contains(TestCluster.applicationPassword) })
        }
    }

    @Test("keys carry 256 random bits behind a recognisable prefix")
    func keyFormat() {
        let one = APIKey.generate()
        let two = APIKey.generate()
        #expect(one.text.hasPrefix("esk_"))
        #expect(one.text.count == 4 + 16 + 1 + 64)
        #expect(one != two && one.keyID != two.keyID)
        #expect(APIKey(parsing: one.text) == one)
        #expect(one.matches(storedHash: one.hash))
        #expect(!one.matches(storedHash: two.hash))
        #expect(!one.description.contains(String(one.text.suffix(64))))
    }
}
