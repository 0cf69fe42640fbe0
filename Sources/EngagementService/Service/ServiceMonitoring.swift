import JSONRPC
import Logging
import Monitoring
import PostgresClient
import RPCTransport
import ServiceLifecycle
import Synchronization

/// The transport's unserved connections, counted.
struct TransportMetricsObserver: TransportObserver {
    let metrics: ServiceMetrics
    func connectionRefused(reason: String) { metrics.connectionRefused(reason: reason) }
    func handshakeFailed(reason: String) { metrics.handshakeFailed(reason: reason) }
}

/// What the database says of its schema, and what that means for a server shipped with `expected`.
public enum SchemaCheck: Sendable, Equatable {
    case current
    /// Migrations this server knows are not applied yet (the migrate job has not run): not ready.
    case pending(applied: Int, expected: Int)
    /// The database has migrations this server does not know (an older server against a newer schema): refuse
    /// to start.
    case newer(applied: Int, expected: Int)

    public init(applied: Int, expected: Int?) {
        guard let expected else { self = .current; return }
        if applied > expected {
            self = .newer(applied: applied, expected: expected)
        } else if applied < expected {
            self = .pending(applied: applied, expected: expected)
        } else {
            self = .current
        }
    }

    /// The highest applied migration, read through `app.schema_version()` (0 before it exists). Two statements: a
    /// function a statement names is looked up when it is parsed, so no CASE in one statement could skip it.
    static func appliedVersion(_ database: TenantDatabase) async throws(RPCError) -> Int {
        let exists = try await database.runWithoutTenant([Statement("SELECT to_regprocedure('app.schema_version()') IS NOT NULL")])
        guard exists[0].bool(0, 0) == true else { return 0 }
        return try await database.runWithoutTenant([Statement("SELECT app.schema_version()")])[0].int(0, 0) ?? 0
    }
}

/// Fails start-up against a database whose schema this server does not know.
public struct SchemaTooNew: Error, CustomStringConvertible {
    public let applied: Int
    public let expected: Int
    public var description: String {
        "the database's schema is at migration \(applied), newer than this server knows (\(expected)): run the engagementd "
            + "that migrated it, or a newer one; this server does not start against a schema it may misread"
    }
}

extension EngagementApplication {
    /// `/readyz`: the database answers through the pool and its schema is the one this server was shipped with.
    static func readiness(database: TenantDatabase, expected: Int?) async -> MonitoringServer.Readiness {
        do {
            switch SchemaCheck(applied: try await SchemaCheck.appliedVersion(database), expected: expected) {
            case .current:
                return .init(ready: true, reason: "ok")
            case .pending(let applied, let expected):
                return .init(
                    ready: false, reason: "migrations_pending",
                    detail: "schema at migration \(applied), this server needs \(expected): run engagementctl migrate")
            case .newer(let applied, let expected):
                return .init(
                    ready: false, reason: "schema_too_new", detail: "schema at migration \(applied), this server knows \(expected)")
            }
        } catch {
            return .init(ready: false, reason: "database_unreachable", detail: error.message)
        }
    }

    /// Reads the pool's and the transport's state into their gauges before each scrape.
    static func collectState(metrics: ServiceMetrics, pool: ConnectionPool, server: RPCServer) {
        metrics.poolMaximum.set(Double(pool.configuration.maximumConnections))
        let reported = ReplacedConnections()
        metrics.addCollector {
            let statistics = await pool.statistics
            metrics.poolOpen.set(Double(statistics.open))
            metrics.poolIdle.set(Double(statistics.idle))
            metrics.poolWaiting.set(Double(statistics.waiting))
            metrics.poolReplacedTotal.increment(by: Int64(reported.advance(to: statistics.replaced)))
            metrics.connectionsOpen.set(Double(server.connectionCount))
        }
    }
}

/// The pool counts replaced connections itself; the counter catches up with it at each scrape.
private final class ReplacedConnections: Sendable {
    private let last = Mutex(0)
    func advance(to total: Int) -> Int {
        last.withLock { last in
            defer { last = total }
            return max(0, total - last)
        }
    }
}

/// Serves the monitoring endpoint until shutdown. It stops last (it is started first), so `/healthz` answers
/// while the rest drains.
struct MonitoringService: Service {
    let server: MonitoringServer

    func run() async throws {
        let server = self.server
        await withTaskCancellationOrGracefulShutdownHandler {
            await server.run()
        } onCancelOrGracefulShutdown: {
            Task { await server.close() }
        }
    }
}
