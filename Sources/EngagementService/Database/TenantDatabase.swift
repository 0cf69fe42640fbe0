import Foundation
import JSONRPC
import Logging
import Monitoring
import PostgresClient

/// Runs a call's SQL for a principal, under row-level security, in one round trip.
///
/// Choice: **libpq pipeline mode**. The tenant context statement (`SELECT app.begin_call($1)`) and the call's
/// statements are sent back to back, followed by a single Sync; PostgreSQL runs everything before the Sync as
/// one implicit transaction, so the transaction-local settings made by `begin_call` are visible to the call's
/// statements, vanish at commit, and an error anywhere rolls back everything. One network round trip, any
/// number of statements, each with ordinary bound parameters and a per-connection prepared statement.
///
/// Rejected alternative: folding the context into the call's statement (`WITH ctx AS (SELECT set_config…)`)
/// is one statement but gives no guarantee that the context is set before the policies are evaluated, and it
/// would have to be rewritten into every query.
public struct TenantDatabase: Sendable {
    public let pool: ConnectionPool
    /// Each organisation's share of the pool (fairness between tenants); nil: first come, first served.
    public let shares: OrganisationShares?
    /// Records how long each call waited for its connection (share and pool); nil: not measured.
    public let metrics: ServiceMetrics?
    /// Where report reads go while it is fresh enough (`ReplicaRoute`); nil: everything on `pool`.
    public let replica: ReplicaRoute?
    /// Each round trip in a span of its own (`CallTracing.database`).
    public let tracing: Bool

    public init(
        pool: ConnectionPool, shares: OrganisationShares? = nil, metrics: ServiceMetrics? = nil, replica: ReplicaRoute? = nil,
        tracing: Bool = false
    ) {
        self.pool = pool
        self.shares = shares
        self.metrics = metrics
        self.replica = replica
        self.tracing = tracing
    }

    static let beginCall = "SELECT app.begin_call($1, $2, $3, $4)"

    /// A call's first statement: the principal's tenant context, the method for the audit log, the request id.
    static func context(_ principal: Principal, method: String, requestID: String?) -> Statement {
        Statement(beginCall, [principal.keyID, method, requestID, principal.organisationID])
    }

    /// Runs `statements` with the principal's tenant context and returns their results (the context
    /// statement's own result is dropped). `method` is recorded in the audit log of any row written; `requestID`
    /// becomes the transaction's `application_name` (`engagementd c12-r5`), as in the server's log lines.
    public func run(as principal: Principal, method: String, requestID: String? = nil, _ statements: [Statement])
        async throws(RPCError) -> [PostgresResult]
    {
        let all = [Self.context(principal, method: method, requestID: requestID)] + statements
        guard tracing else { return try await run(all, of: principal.organisationID, waited: { _ in }) }
        return try await CallTracing.database(all, requestID: requestID) { (waited) throws(RPCError) in
            try await run(all, of: principal.organisationID, waited: waited)
        }
    }

    /// One round trip of `all` (its first statement the context) on a connection of the organisation's share.
    private func run(_ all: [Statement], of organisation: UUID, waited: (Duration) -> Void) async throws(RPCError) -> [PostgresResult] {
        let asked = ContinuousClock.now
        var lease: Int?
        if let shares {
            lease = await shares.acquire(organisation)
            if lease == nil { throw shares.refusal(organisation) }
        }
        // What the call costs its organisation: how long it held its share (`DatabaseTimeBudget`).
        let admitted = ContinuousClock.now
        do {
            // The wait is measured whether the statements succeed or not.
            let outcome = try await pool.pipeline(all)
            metrics?.poolWait.record(outcome.connected - asked)
            waited(outcome.connected - asked)
            let results = Array(try outcome.results.get().dropFirst())
            if let lease { shares?.release(organisation, lease: lease, held: .now - admitted) }
            return results
        } catch {
            if let lease { shares?.release(organisation, lease: lease, held: .now - admitted) }
            throw DatabaseErrorMapping.rpcError(for: error)
        }
    }

    /// Calls a method's SQL function (`api.party_get`) with the call's params as jsonb and passes the JSON
    /// document it returns through to the client. The function owns the operation; its errors are mapped by
    /// `DatabaseErrorMapping` (SQLSTATE classes EV, EN, EC, EF, ES and the integrity errors it re-raises with the
    /// param's path).
    /// With `fromReplica` (the reports, `ReplicaRoute.serves`) and a replica configured, the replica answers while
    /// it is fresh enough.
    /// With `untimed` the call runs without `statement_timeout` (committing a staged import: a whole file in one
    /// transaction, bounded by the stage's row limit instead).
    public func call(
        as principal: Principal, method: String, requestID: String? = nil, function: SQLFunctionName, params: [UInt8],
        fromReplica: Bool = false, untimed: Bool = false
    ) async throws(RPCError) -> ResponseBody {
        let statement = Statement("SELECT \(function.qualifiedName)($1::jsonb)", [String(decoding: params, as: UTF8.self)])
        if fromReplica, let replica {
            return try await replica.json(as: principal, method: method, requestID: requestID, statement, primary: self)
        }
        if untimed {
            let results = try await run(as: principal, method: method, requestID: requestID, [Self.untimed, statement])
            return try Self.document(results[1])
        }
        return try await json(as: principal, method: method, requestID: requestID, statement)
    }

    /// Lifts `statement_timeout` for the rest of the transaction: in a pipeline, the timer its first statement
    /// armed is disarmed when the next statement starts with 0 (the rollup refresh and a staged import's commit).
    static let untimed = Statement("SELECT set_config('statement_timeout', '0', true)")

    /// Runs statements without tenant context (authentication lookups); RLS shows no tenant rows here.
    public func runWithoutTenant(_ statements: [Statement]) async throws(RPCError) -> [PostgresResult] {
        do {
            return try await pool.pipeline(statements).results.get()
        } catch {
            throw DatabaseErrorMapping.rpcError(for: error)
        }
    }

    /// Runs one statement that returns one JSON document in its first column and passes that document
    /// through to the client untouched. No row means "not found".
    public func json(as principal: Principal, method: String, requestID: String? = nil, _ statement: Statement)
        async throws(RPCError) -> ResponseBody
    {
        try Self.document(try await run(as: principal, method: method, requestID: requestID, [statement])[0])
    }

    /// The JSON document in the first column of a one-statement result, made one line.
    static func document(_ result: PostgresResult) throws(RPCError) -> ResponseBody {
        guard result.rowCount > 0, var bytes = result.bytes(0, 0) else {
            throw RPCError(.notFound, reason: "not_found")
        }
        // `json` values keep the whitespace they were written with, newlines included, and one reply must
        // stay on one line. In valid JSON a raw CR or LF can only be whitespace between tokens (inside
        // strings PostgreSQL escapes them), so turning them into spaces never changes the document.
        // `jsonb` output never has them, so look first (memchr, vectorised) and only then walk the bytes.
        let hasLineBreak = bytes.withUnsafeBytes { buffer in
            guard let start = buffer.baseAddress else { return false }
            return memchr(start, 0x0A, buffer.count) != nil || memchr(start, 0x0D, buffer.count) != nil
        }
        if hasLineBreak {
            for index in bytes.indices where bytes[index] == 0x0A || bytes[index] == 0x0D { bytes[index] = 0x20 }
        }
        return .result(rawJSON: bytes)
    }
}
