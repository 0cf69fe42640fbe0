import JSONRPC
import PostgresClient

/// The one place database errors become JSON-RPC errors. Nothing of PostgreSQL's text (SQL, table names,
/// constraint messages) reaches the client except through the explicit cases below.
public enum DatabaseErrorMapping {
    /// SQLSTATE raised by `app.begin_call` when the session's key was revoked or its user disabled.
    public static let keyNoLongerValid = SQLState("EA001")

    /// SQLSTATEs of the api functions' own errors (`SQL/definitions/0100_api_support.sql`); conflict and
    /// forbidden carry their reason in HINT.
    static let notFound = SQLState("EN404")
    static let conflict = SQLState("EC409")
    static let forbidden = SQLState("EF403")

    /// The param behind a failed constraint, as the api function that re-raised the error named it (COLUMN,
    /// relative to params; `api.reraise`).
    private static func paramPath(_ server: PostgresServerError) -> String? {
        guard let column = server.column, !column.isEmpty else { return nil }
        return "params.\(column)"
    }

    /// SQLSTATE raised by `app.idempotent_replay` when a key comes back with a different request.
    public static let idempotencyKeyReused = SQLState("EI409")

    public static func rpcError(for error: any Error) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case PoolError.acquireTimedOut(let milliseconds):
            return RPCError(
                .overCapacity, "Over capacity: no database connection became free within \(milliseconds) ms",
                reason: "database_pool_exhausted", retryAfterMilliseconds: 200)
        case PoolError.unavailable, PoolError.shutDown:
            return RPCError(.unavailable, reason: "database_unavailable", retryAfterMilliseconds: 1000)
        case let error as PostgresError:
            return rpcError(for: error)
        default:
            return RPCError(.internalError, reason: "internal_error")
        }
    }

    static func rpcError(for error: PostgresError) -> RPCError {
        if error.isConnectionProblem {
            return RPCError(.unavailable, reason: "database_unavailable", retryAfterMilliseconds: 1000)
        }
        guard let server = error.serverError else { return RPCError(.internalError, reason: "internal_error") }
        switch server.sqlState {
        case keyNoLongerValid:
            return RPCError(.unauthenticated, "Unauthenticated: the session's API key is no longer valid", reason: "key_revoked")
        case .foreignKeyViolation:
            // A referenced id that is missing, or belongs to another organisation (composite keys make the two
            // indistinguishable, as they must be), is a bad param. Any other foreign-key failure is a row still
            // referred to by others.
            if let path = paramPath(server) {
                return .invalidParams([FieldProblem(path: path, message: "does not exist")])
            }
            return RPCError(.conflict, "Conflict: other records still refer to this one", reason: "in_use")
        case .uniqueViolation:
            // Uniqueness is per organisation, so this says nothing about other tenants; the constraint's name
            // (which contains a table name) stays here: the api function names the param instead.
            let path = paramPath(server)
            return RPCError(
                .conflict, "Conflict: that value is already taken", reason: "already_exists",
                fields: path.map { [FieldProblem(path: $0, message: "is already taken")] } ?? [])
        case .serializationFailure, .deadlockDetected, .lockNotAvailable:
            return RPCError(.conflict, "Conflict: a concurrent change interfered; retry", reason: "concurrent_update",
                            retryAfterMilliseconds: 50)
        case .insufficientPrivilege:
            return RPCError(.forbidden, reason: "forbidden")
        case idempotencyKeyReused:
            return RPCError(
                .conflict, "Conflict: this idempotency_key was used for a different request", reason: "idempotency_key_reused")
        case .exclusionViolation:
            let path = paramPath(server)
            return RPCError(
                .conflict, "Conflict: that overlaps an existing entry", reason: "overlaps",
                fields: path.map { [FieldProblem(path: $0, message: "overlaps an existing entry")] } ?? [])
        case .checkViolation where paramPath(server) != nil:
            return .invalidParams([FieldProblem(path: paramPath(server)!, message: "is not consistent with the other values")])
        case .checkViolation, .notNullViolation:
            // Methods validate params first; this is the backstop for a rule only the database knows.
            return RPCError(.invalidParams, "Invalid params: a value was rejected", reason: "rejected_by_database")
        case _ where server.sqlState.errorClass == "EV":
            // Input the database refused (raised by our own triggers, whose messages name no other tenant's data).
            // Our functions name a param path relative to the params in the COLUMN field (e.g. finance[2].plan).
            let path = paramPath(server) ?? "params"
            return .invalidParams([FieldProblem(path: path, message: server.message)])
        case notFound:
            return RPCError(.notFound, reason: "not_found")
        case conflict:
            return RPCError(.conflict, "Conflict: \(server.message)", reason: server.hint ?? "conflict")
        case forbidden:
            return RPCError(.forbidden, "Forbidden: \(server.message)", reason: server.hint ?? "forbidden")
        case _ where server.sqlState.errorClass == "ES":
            return RPCError(
                .invalidState, "Invalid state: \(server.message)",
                reason: server.hint ?? "invalid_state")
        case _ where server.sqlState.errorClass == "22":
            // Data exceptions: a value out of range or not representable in its column's type.
            return RPCError(.invalidParams, "Invalid params: a value was rejected", reason: "rejected_by_database")
        case .queryCanceled:
            return RPCError(.unavailable, "Unavailable: the statement took too long", reason: "statement_timeout",
                            retryAfterMilliseconds: 1000)
        default:
            return RPCError(.internalError, reason: "internal_error")
        }
    }
}
