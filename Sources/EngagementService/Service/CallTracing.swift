import Foundation
import JSONRPC
import PostgresClient
import Tracing

/// The spans of a call when tracing is on (`ENGAGEMENT_TRACING`): one server span per JSON-RPC call, named by its
/// method, and inside it one client span per database round trip. Attributes follow OpenTelemetry's semantic
/// conventions for JSON-RPC and PostgreSQL; they name the method, the request id (the `application_name` of the
/// call's transaction and the `request` of its log lines, so a slow statement in PostgreSQL's log leads to its span),
/// the organisation and the SQL's shape, never a param's value.
enum CallTracing {
    /// Runs `answer` in the call's server span. A JSON-RPC error is recorded with its code and reason; the span's
    /// status is an error only for the server's own failures (internal, over capacity, unavailable), as OpenTelemetry
    /// leaves a client's mistakes (invalid params, not found) unset.
    static func server(
        method: String, requestID: String, organisation: UUID?, _ answer: () async -> ResponseBody
    ) async -> ResponseBody {
        await withSpan(method, ofKind: .server) { span in
            span.attributes["rpc.system"] = "jsonrpc"
            span.attributes["rpc.method"] = method
            span.attributes["rpc.jsonrpc.version"] = "2.0"
            span.attributes["engagement.request_id"] = requestID
            if let organisation { span.attributes["engagement.organisation_id"] = organisation.uuidString.lowercased() }
            let body = await answer()
            if case .error(let error) = body {
                span.attributes["rpc.jsonrpc.error_code"] = Int(error.code.rawValue)
                span.attributes["engagement.error_reason"] = error.reason
                if [.internalError, .overCapacity, .unavailable].contains(error.code) {
                    span.setStatus(SpanStatus(code: .error, message: error.reason))
                }
            }
            return body
        }
    }

    /// Runs one pipeline of `statements` in a client span named by the SQL of its last statement up to its
    /// parameters (`SELECT api.party_create`): the statements' text is constant, their values travel as parameters
    /// and are not recorded. `round` reports how long the call waited for its connection (its organisation's share
    /// and the pool), and `servedBy` names the replica when it answers.
    static func database<T, Failure: Error>(
        _ statements: [Statement], requestID: String?, servedBy: String = "primary",
        _ round: (_ waited: (Duration) -> Void) async throws(Failure) -> T
    ) async throws(Failure) -> T {
        let outcome: Result<T, Failure> = await withSpan(summary(statements), ofKind: .client) { span in
            span.attributes["db.system.name"] = "postgresql"
            span.attributes["db.query.text"] = statements.map(\.sql).joined(separator: "; ")
            span.attributes["engagement.served_by"] = servedBy
            if let requestID { span.attributes["engagement.request_id"] = requestID }
            do throws(Failure) {
                return .success(try await round { waited in span.attributes["engagement.connection_wait_ms"] = waited.milliseconds })
            } catch {
                // The reason, never the database's message (it may quote a value).
                let reason = (error as? RPCError)?.reason ?? "database_error"
                span.attributes["engagement.error_reason"] = reason
                span.setStatus(SpanStatus(code: .error, message: reason))
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// `SELECT api.party_get` of `SELECT api.party_get($1::jsonb)`: what the span is named by.
    static func summary(_ statements: [Statement]) -> String {
        guard let sql = statements.last?.sql else { return "PostgreSQL" }
        return String(sql.prefix { $0 != "(" && $0 != "$" }.prefix(80)).trimmingCharacters(in: .whitespaces)
    }
}
