import JSONRPC
import Logging
import Monitoring
import PostgresClient

/// Report reads on a streaming replica (`ENGAGEMENT_REPLICA_DATABASE_URL`), while it is fresh enough.
///
/// The reports (`report.*`) only read, so the replica can answer them and keep their cost off the primary. Each
/// such call goes to the replica with `app.require_replica_within(max lag)` first in its pipeline: that function
/// measures the age of the heartbeat the servers stamp on the primary every 500 ms (`ReplicaHeartbeat`), as replayed on the
/// replica, and raises when it is older than the bound, so a replica that is behind or cut off from its primary
/// never answers. Then, and when the replica is unreachable or refuses (read-only, not a replica), the call runs on
/// the primary. Every report answer then says which served it: `"served_by": "replica"` or `"primary"`.
public struct ReplicaRoute: Sendable {
    public let pool: ConnectionPool
    public let maximumLag: Duration

    public init(pool: ConnectionPool, maximumLag: Duration) {
        self.pool = pool
        self.maximumLag = maximumLag
    }

    /// The methods the replica may answer: the reports, read-only by contract, whose answer is an object (so it can
    /// say which database served it; `report.showback` answers an array and stays on the primary).
    public static func serves(_ method: String, result: Schema) -> Bool {
        guard method.hasPrefix("report."), case .object = result else { return false }
        return true
    }

    /// How often the primary's heartbeat is stamped (the lag bound must exceed it: ENGAGEMENT_REPLICA_MAX_LAG_MS is at least 1 s).
    static let heartbeatInterval: Duration = .milliseconds(500)

    /// The replica's pool, when one is configured, after checking that it is a replica: a URL that points at a
    /// primary is refused at start-up (reports would then look "fresh" wherever they ran). An unreachable replica
    /// does not stop the start: reports are answered by the primary until it is back.
    static func connect(_ configuration: ServerConfiguration, logger: Logger) async throws -> ReplicaRoute? {
        guard let url = configuration.replicaDatabaseURL else { return nil }
        let pool = ConnectionPool(configuration: configuration.pool(url), logger: logger)
        do {
            let inRecovery = try await pool.withConnection { connection in
                try connection.query("SELECT pg_is_in_recovery()").bool(0, 0)
            }
            guard inRecovery == true else {
                await pool.shutdown()
                throw ReplicaIsPrimary()
            }
        } catch let error as ReplicaIsPrimary {
            throw error
        } catch {
            logger.warning("the read replica is unreachable; the primary answers reports until it is back", metadata: ["error": "\(error)"])
        }
        return ReplicaRoute(pool: pool, maximumLag: configuration.replicaMaximumLag)
    }

    static let tooFarBehind = SQLState("ER001")
    static let notAReplica = SQLState("ER002")
    static let readOnlyTransaction = SQLState("25006")

    func json(
        as principal: Principal, method: String, requestID: String?, _ statement: Statement, primary: TenantDatabase
    ) async throws(RPCError) -> ResponseBody {
        let statements = [
            Statement("SELECT app.require_replica_within($1)", [Int(maximumLag.milliseconds)]),
            TenantDatabase.context(principal, method: method, requestID: requestID),
            statement,
        ]
        let why: String
        do {
            let pool = self.pool
            func round() async throws -> [PostgresResult] {
                try await pool.pipeline(statements).results.get()
            }
            let results =
                primary.tracing
                ? try await CallTracing.database(statements, requestID: requestID, servedBy: "replica") { _ in try await round() }
                : try await round()
            primary.metrics?.replicaRead(servedBy: "replica", reason: "fresh")
            return Self.tagged(try TenantDatabase.document(results[2]), servedBy: "replica")
        } catch let error as PostgresError {
            guard let reason = Self.fallbackReason(error) else { throw DatabaseErrorMapping.rpcError(for: error) }
            why = reason
        } catch let error as RPCError {
            throw error
        } catch {
            why = "unavailable"  // the replica's pool: unreachable, busy past its timeout
        }
        primary.metrics?.replicaRead(servedBy: "primary", reason: why)
        return Self.tagged(try await primary.json(as: principal, method: method, requestID: requestID, statement), servedBy: "primary")
    }

    /// Why the primary answers instead, or nil for an error that is the call's own (it would fail there too).
    static func fallbackReason(_ error: PostgresError) -> String? {
        if error.isConnectionProblem { return "unavailable" }
        guard case .server(let server) = error else { return nil }
        switch server.sqlState {
        case tooFarBehind: return "behind"
        case notAReplica, readOnlyTransaction: return "refused"
        default: return nil
        }
    }

    /// The answer with `"served_by"` as its first member (report results are JSON objects).
    static func tagged(_ body: ResponseBody, servedBy: String) -> ResponseBody {
        guard case .result(let bytes) = body, bytes.first == UInt8(ascii: "{") else { return body }
        let member = Array(#""served_by":"\#(servedBy)""#.utf8)
        let rest = bytes.dropFirst()
        let empty = rest.first(where: { $0 != 0x20 }) == UInt8(ascii: "}")
        return .result(rawJSON: [UInt8(ascii: "{")] + member + (empty ? [] : [UInt8(ascii: ",")]) + rest)
    }
}

/// Start-up refuses an `ENGAGEMENT_REPLICA_DATABASE_URL` that reaches a primary.
public struct ReplicaIsPrimary: Error, CustomStringConvertible {
    public var description: String {
        "ENGAGEMENT_REPLICA_DATABASE_URL reaches a primary (pg_is_in_recovery() is false), not a streaming replica: "
            + "point it at a hot standby, or unset it"
    }
}
