import EngagementClient
import EngagementService
import Foundation
import JSONRPC
import TenantAdministration
import Testing

/// Each role against each method of the registry: below the method's minimum role the answer is -32002;
/// at or above it, the call is never refused for its role, neither by the registry nor by the database's
/// policies (which would also answer -32002), so the two layers are checked to agree.
@Suite("Role matrix")
struct RoleMatrixTests {
    @Test("every role gets exactly the methods its rank allows, in the registry and in the database")
    func matrix() async throws {
        let server = try await ServerFixture.start("roles")
        try await server.scoped {
            let owner = try server.ownerConnection()
            defer { owner.close() }
            let admin = TenantAdministrator(owner: owner)
            var sessions: [OrganisationRole: RPCConnection] = [:]
            for role in OrganisationRole.allCases {
                let email = "\(role.rawValue)@roles.example"
                _ = try admin.createUser(organisationID: server.orgA.id, email: email, name: role.rawValue,
                                         role: TenantAdministrator.Role(rawValue: role.rawValue)!)
                let client = try await server.connect()
                let key = try admin.issueKey(organisationID: server.orgA.id, userEmail: email).key.text
                #expect(try await client.call("session.authenticate", ["api_key": .string(key)])["result"]?["role"] == .string(role.rawValue))
                sessions[role] = client
            }
            var checked = 0
            for method in MethodRegistry.standard().definitions {
                guard case .role(let minimum) = method.access else { continue }
                for role in OrganisationRole.allCases {
                    var params = JSONObject()
                    for field in method.params where field.required { params[field.name] = Self.sample(field) }
                    let reply = try await sessions[role]!.call(method.name, .object(params))
                    if role < minimum {
                        #expect(reply.errorCode == -32002 && reply.errorReason == "role_too_low", "\(role) → \(method.name): \(JSONWriter.string(reply))")
                    } else {
                        #expect(reply.errorCode != -32002, "\(role) → \(method.name) refused: \(JSONWriter.string(reply))")
                    }
                    checked += 1
                }
            }
            #expect(checked >= 4 * 40)
        }
    }

    /// Valid params that name nothing existing (random ids), so allowed calls are harmless.
    static func sample(_ field: Schema.Field) -> JSONValue {
        if field.name == "name", case .string(_, _, _, let pattern?) = field.schema, pattern.hasPrefix("[a-z]") {
            return .string("rpt_\(UUID().uuidString.prefix(8).lowercased())")  // reporting roles are cluster-wide
        }
        if field.name == "code" { return .string("R\(UUID().uuidString.prefix(6))") }
        return IsolationMatrixTests.sample(field.schema)
    }
}
