import Logging
import Monitoring
import PostgresClient
import ServiceLifecycle

/// Keeps the materialized rollups fresh after writes. Triggers on the rollups' inputs send
/// `engagement_rollup_stale` at commit; this service listens on its own connection and refreshes through the pool
/// at most `debounce` after the first notification of a burst, so a burst of writes costs one refresh. The
/// database lets one refresh run at a time across all instances (advisory lock); a refresh that finds another
/// running is retried after another `debounce`. Notifications that arrive during a refresh start the next round,
/// which waits at least twice the last refresh's duration, so refreshing never takes more than a third of the time.
struct RollupRefresher: Service {
    static let channel = "engagement_rollup_stale"

    let conninfo: String
    let pool: ConnectionPool
    let debounce: Duration
    let metrics: ServiceMetrics?
    let logger: Logger

    func run() async throws {
        guard debounce > .zero else {
            // Turned off: stay until shutdown (a service that returns would end the whole service group).
            try? await gracefulShutdown()
            return
        }
        let listener = NotificationListener(conninfo: conninfo, channel: Self.channel, logger: logger)
        await cancelWhenGracefulShutdown {
            var pendingSince: ContinuousClock.Instant?
            var notBefore = ContinuousClock.now
            await listener.run(waiting: .milliseconds(250)) { received, reconnected in
                // Writes may have happened while nobody listened.
                if reconnected || (!received.isEmpty && pendingSince == nil) { pendingSince = pendingSince ?? .now }
                if let since = pendingSince, ContinuousClock.now - since >= debounce, ContinuousClock.now >= notBefore {
                    let started = ContinuousClock.now
                    let refreshed = try await Self.refresh(pool)
                    if refreshed {
                        metrics?.rollupRefresh.record(ContinuousClock.now - started)
                        metrics?.rollupLag.set((ContinuousClock.now - since).milliseconds / 1000)
                    } else {
                        metrics?.rollupRefreshesSkipped.increment()
                    }
                    pendingSince = refreshed ? nil : .now
                    // A refresh costs the whole database (Benchmarks/README.md): keep it to a third of the time.
                    notBefore = .now + (ContinuousClock.now - started) * 2
                }
            }
        }
    }

    /// Refreshes every materialized rollup; false when another instance is refreshing. The refresh may take
    /// longer than the server's statement timeout, so it runs without one.
    static func refresh(_ pool: ConnectionPool) async throws -> Bool {
        try await pool.withConnection { connection in
            try connection.pipeline([
                TenantDatabase.untimed, Statement("SELECT app.refresh_rollups()"),
            ])[1].bool(0, 0) ?? false
        }
    }
}

extension RollupRefresher: CustomStringConvertible {
    /// What service-lifecycle logs: the name only (the default would print every stored property, the database
    /// URL with its password among them).
    var description: String { "RollupRefresher" }
}
