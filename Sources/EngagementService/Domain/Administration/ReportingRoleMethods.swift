import Credentials
import JSONRPC

/// Reporting logins for an organisation's DBAs (admins only). The password is generated here, returned once,
/// and reaches PostgreSQL only as a SCRAM verifier. The work: `SQL/definitions/0130_api_administration.sql` (and
/// `app.create_reporting_role`, the definer function that makes the login).
enum ReportingRoleMethods {
    static let name = Schema.string(minLength: 3, maxLength: 63, pattern: "[a-z][a-z0-9_]{2,62}")
    static let all: [MethodDefinition] = [create, drop, list]

    static let create = MethodDefinition(
        "reporting_role.create",
        summary: "Create a PostgreSQL login that reads this organisation's reporting views; the password is shown once.",
        params: [.init("name", name, "role name: lower-case letters, digits and _, unique in the whole cluster")],
        result: .object([.init("name", .string(), "the login"), .init("password", .string(), "its password: shown here only")]),
        access: .role(.admin)
    ) { context, params throws(RPCError) in
        let roleName = params.requiredString("name")
        let password = RandomSecrets.reportingPassword()
        let verifier: String
        do {
            // libpq computes the verifier; any pooled connection will do, nothing is sent to the server.
            verifier = try await context.database.pool.withConnection { try $0.scramVerifier(password: password, role: roleName) }
        } catch {
            throw DatabaseErrorMapping.rpcError(for: error)
        }
        var reply = try await context.call("api.reporting_role_create", with: ["name": .string(roleName), "verifier": .string(verifier)])
            .objectValue ?? [:]
        reply["password"] = .string(password)
        return .result(.object(reply))
    }

    static let drop = MethodDefinition(
        "reporting_role.drop", summary: "Drop one of this organisation's reporting logins.",
        params: [.init("name", name, "the role")],
        result: .object([.init("name", .string(), "the login"), .init("dropped", .boolean, "always true")]),
        access: .role(.admin), function: "api.reporting_role_drop")

    static let list = MethodDefinition(
        "reporting_role.list", summary: "This organisation's reporting logins.",
        result: .array(items: .object([
            .init("name", .string(), "the login"), .init("created_at", .string(format: "date-time"), "created"),
        ])),
        access: .role(.admin), function: "api.reporting_role_list")
}
