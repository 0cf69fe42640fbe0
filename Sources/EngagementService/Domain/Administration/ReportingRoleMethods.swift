import Foundation
import JSONRPC
import PostgresClient
import Credentials

/// Reporting logins for an organisation's DBAs (admins only). The password is generated here, returned once,
/// and reaches PostgreSQL only as a SCRAM verifier.
enum ReportingRoleMethods {
    static let name = Schema.string(minLength: 3, maxLength: 63, pattern: "[a-z][a-z0-9_]{2,62}")
    static let all: [MethodDefinition] = [create, drop, list]

    static let create = MethodDefinition(
        "reporting_role.create",
        summary: "Create a PostgreSQL login that reads this organisation's reporting views; the password is shown once.",
        params: [.init("name", name, "role name: lower-case letters, digits and _, unique in the whole cluster")],
        result: .any(description: "{name, password}"), access: .role(.admin)
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
        _ = try await context.run(
            [Statement("SELECT app.create_reporting_role($1, $2)", [roleName, verifier])],
            references: ["reporting_roles_name": "params.name", "reporting_roles_role_name_key": "params.name"])
        return .result(.object(["name": .string(roleName), "password": .string(password)]))
    }

    static let drop = MethodDefinition(
        "reporting_role.drop", summary: "Drop one of this organisation's reporting logins.",
        params: [.init("name", name, "the role")], result: .any(description: "{name, dropped: true}"), access: .role(.admin)
    ) { context, params throws(RPCError) in
        let result = try await context.run([Statement("SELECT app.drop_reporting_role($1)", [params.requiredString("name")])])[0]
        guard result.bool(0, 0) == true else { throw RPCError(.notFound, reason: "not_found") }
        return .result(.object(["name": .string(params.requiredString("name")), "dropped": true]))
    }

    static let list = MethodDefinition(
        "reporting_role.list", summary: "This organisation's reporting logins.",
        result: .any(description: "[{name, created_at}]"), access: .role(.admin)
    ) { context, _ throws(RPCError) in
        try await context.json(Statement(
            """
            SELECT coalesce(jsonb_agg(jsonb_build_object('name', role_name, 'created_at', created_at) ORDER BY role_name), '[]'::jsonb)
            FROM app.reporting_roles WHERE organisation_id = app.current_organisation_id()
            """))
    }
}
