import Foundation
import JSONRPC
import PostgresClient
import Credentials

/// The methods of the platform itself: discovery, liveness and the session.
enum BuiltinMethods {
    static func all(discoveryDocument: @escaping @Sendable () -> [UInt8]) -> [MethodDefinition] {
        [
            MethodDefinition(
                "rpc.discover", summary: "The OpenRPC document of every method this server offers.",
                result: .object([
                    .init("openrpc", .string(), "the OpenRPC version"), .init("info", .any(description: "title, version, description"), "about this server"),
                    .init("methods", .array(items: .any(description: "an OpenRPC method object")), "every method"),
                    .init("components", .any(description: "x-error-codes: the error codes"), "shared definitions"),
                ]), access: .anonymous
            ) { _, _ in .result(rawJSON: discoveryDocument()) },

            MethodDefinition(
                "system.ping", summary: "Liveness check; needs no authentication and no database.",
                result: .object([
                    .init("status", .enumeration(["ok"]), "always ok"),
                    .init("time", .string(format: "date-time"), "server time, ISO 8601"),
                ]), access: .anonymous
            ) { _, _ in
                .result(.object(["status": "ok", "time": .string(ISO8601DateFormatter().string(from: Date()))]))
            },

            authenticate,
            whoami,
        ]
    }

    static let authenticate = MethodDefinition(
        "session.authenticate",
        summary: "Binds this connection to the organisation, user and role of an API key. Runs alone (a barrier).",
        params: [.init("api_key", .string(minLength: 1, maxLength: 200), "the key, esk_…")],
        result: .object([
            .init("organisation_id", .uuid, "the key's organisation"),
            .init("organisation_name", .string(), "its name"),
            .init("user_id", .uuid, "the key's user"),
            .init("role", .enumeration(OrganisationRole.allCases.map(\.rawValue)), "the user's role"),
            .init("key_id", .string(), "the public id of the key"),
        ]),
        access: .anonymous, isBarrier: true
    ) { context, params throws(RPCError) in
        // Whatever happens next, the connection is not authenticated by an earlier key any more.
        context.session.bind(nil)
        if case .refuse(let wait) = context.authentication?.check(context.session) {
            context.logger.notice("authentication throttled", metadata: ["peer": "\(context.session.peer ?? "-")"])
            throw RPCError(
                .overCapacity, "Too many failed authentication attempts; retry later", reason: "too_many_attempts",
                retryAfterMilliseconds: max(1, Int(wait.milliseconds.rounded(.up))))
        }
        let refused = RPCError(.unauthenticated, "Unauthenticated: invalid API key", reason: "invalid_api_key")
        guard let key = APIKey(parsing: params.requiredString("api_key")) else {
            context.authentication?.recordFailure(context.session)
            throw refused
        }
        let rows = try await context.database.runWithoutTenant([
            Statement(
                "SELECT organisation_id, organisation_name, user_id, user_role, key_hash FROM app.find_api_key($1)",
                [key.keyID])
        ])[0]
        // A key id is unique within its organisation (64 random bits: across organisations practically so); the
        // key is the row whose stored hash it matches.
        let matching = (0..<rows.rowCount).first { row in rows.bytea(row, 4).map { key.matches(storedHash: $0) } ?? false }
        guard let row = matching, let organisationID = rows.uuid(row, 0), let userID = rows.uuid(row, 2),
            let role = rows.string(row, 3).flatMap(OrganisationRole.init(rawValue:))
        else {
            context.logger.info("authentication refused", metadata: ["key": "\(key)"])
            context.authentication?.recordFailure(context.session)
            throw refused
        }
        context.authentication?.recordSuccess(context.session)
        context.session.bind(Principal(keyID: key.keyID, organisationID: organisationID, userID: userID, role: role))
        context.logger.info("authenticated", metadata: ["key": "\(key)", "organisation": "\(organisationID.uuidString.lowercased())"])
        return .result(.object([
            "organisation_id": .string(organisationID.uuidString.lowercased()),
            "organisation_name": .string(rows.string(row, 1) ?? ""),
            "user_id": .string(userID.uuidString.lowercased()),
            "role": .string(role.rawValue),
            "key_id": .string(key.keyID),
        ]))
    }

    /// Reads the session's identity back from the database under row-level security: the tenant context as
    /// PostgreSQL sees it, not as the server remembers it (`api.session_whoami`).
    static let whoami = MethodDefinition(
        "session.whoami",
        summary: "The organisation, user and role of this session, as the database's tenant context sees them.",
        result: .object([
            .init("organisation", .object([.init("id", .uuid, "its id"), .init("name", .string(), "its name")]), "the organisation"),
            .init("user", .object([
                .init("id", .uuid, "the user"), .init("email", .string(), "email"), .init("display_name", .string(), "name"),
            ]), "the user"),
            .init("role", .enumeration(OrganisationRole.allCases.map(\.rawValue)), "the user's role"),
        ]),
        access: .role(.viewer), function: "api.session_whoami")
}
