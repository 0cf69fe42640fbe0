import EngagementClient
import Foundation
import JSONRPC
import PostgresClient
import Testing

@Suite("Users and API keys")
struct UserManagementTests {
    @Test("admins manage users and keys; disabling a user or revoking a key ends its sessions at once")
    func management() async throws {
        let server = try await ServerFixture.start("users")
        try await server.scoped {
            let admin = try await server.session(server.orgA)
            let created = try #require(try await admin.call("user.create", ["email": "Kim@A.example", "display_name": "Kim", "role": "member"])["result"])
            #expect(try await admin.call("user.create", ["email": "kim@a.example", "display_name": "Kim 2", "role": "viewer"]).errorCode == -32004)
            #expect(try await admin.call("user.create", ["email": "not-an-email", "display_name": "X", "role": "viewer"]).errorCode == -32602)
            let issued = try #require(try await admin.call("api_key.create", ["user_id": created["id"]!, "label": "lpatop"])["result"])
            let key = try #require(issued["key"]?.stringValue)
            #expect(key.hasPrefix("esk_"))

            let kim = try await server.connect()
            #expect(try await kim.call("session.authenticate", ["api_key": .string(key)])["result"]?["role"] == "member")
            #expect(try await kim.call("user.create", ["email": "x@a.example", "display_name": "X", "role": "admin"]).errorCode == -32002)
            #expect(try await kim.call("user.list")["result"]?["items"]?.arrayValue?.count == 2, "members see their colleagues")

            let relabelled = try await admin.call("api_key.update", ["id": issued["id"]!, "label": "laptop"])
            #expect(relabelled["result"]?["label"] == "laptop")
            #expect(try await admin.call("api_key.get", ["id": issued["id"]!])["result"] == relabelled["result"])
            let listed = try #require(try await admin.call("api_key.list", ["user_id": created["id"]!])["result"]?.arrayValue)
            #expect(listed.count == 1 && listed[0]["label"] == "laptop" && listed[0]["key_hash"] == nil && listed[0]["key"] == nil)

            let promoted = try await admin.call("user.update", ["id": created["id"]!, "version": 1, "role": "manager"])
            #expect(promoted["result"]?["role"] == "manager")
            #expect(try await kim.call("session.whoami")["result"]?["role"] == "manager", "the new role applies from the next call")

            let disabled = try await admin.call("user.update", ["id": created["id"]!, "version": 2, "disabled": true])
            #expect(disabled["result"]?["disabled"] == true)
            #expect(try await kim.call("session.whoami").errorReason == "key_revoked")
            #expect(try await admin.call("user.list")["result"]?["items"]?.arrayValue?.count == 1)
            #expect(try await admin.call("user.list", ["include_disabled": true])["result"]?["items"]?.arrayValue?.count == 2)
            #expect(try await admin.call("api_key.create", ["user_id": created["id"]!]).errorCode == -32602, "no keys for disabled users")

            let me = try #require(try await admin.call("session.whoami")["result"]?["user"]?["id"])
            let lastAdmin = try await admin.call("user.update", ["id": me, "version": 1, "role": "viewer"])
            #expect(lastAdmin.errorCode == -32007 && lastAdmin.errorReason == "last_admin")

            let second = try #require(try await admin.call("api_key.create", ["user_id": me, "label": "second"])["result"])
            let other = try await server.connect()
            _ = try await other.call("session.authenticate", ["api_key": second["key"]!])
            #expect(try await admin.call("api_key.revoke", ["id": second["id"]!])["result"]?["revoked_at"] != .null)
            #expect(try await other.call("session.whoami").errorReason == "key_revoked")

            let owner = try server.ownerConnection()
            defer { owner.close() }
            let audit = try owner.query("SELECT count(*) FROM app.audit_log WHERE entity = 'api_keys' AND (after ? 'key_hash' OR before ? 'key_hash')")
            #expect(audit.int(0, 0) == 0, "key hashes never reach the audit log")
            #expect(try owner.query("SELECT count(*) FROM app.audit_log WHERE entity = 'api_keys'").int(0, 0)! >= 3)
        }
    }

    @Test("another organisation's users and keys are out of reach")
    func isolation() async throws {
        let server = try await ServerFixture.start("users-iso")
        try await server.scoped {
            let a = try await server.session(server.orgA)
            let b = try await server.session(server.orgB)
            let aUser = try #require(try await a.call("session.whoami")["result"]?["user"]?["id"])
            let aKey = try #require(try await a.call("api_key.list")["result"]?[0]?["id"])
            #expect(try await b.call("user.get", ["id": aUser]).errorCode == -32003)
            #expect(try await b.call("user.update", ["id": aUser, "version": 1, "disabled": true]).errorCode == -32003)
            #expect(try await b.call("api_key.create", ["user_id": aUser]).errorCode == -32602)
            #expect(try await b.call("api_key.revoke", ["id": aKey]).errorCode == -32003)
            #expect(try await b.call("api_key.list")["result"]?.arrayValue?.count == 1, "only B's own key")
            #expect(try await a.call("session.whoami")["result"] != nil, "A's key still works")
        }
    }
}
