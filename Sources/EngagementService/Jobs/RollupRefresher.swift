import Logging
import NIOPosix
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
    let logger: Logger

    func run() async throws {
        guard debounce > .zero else {
            // Turned off: stay until shutdown (a service that returns would end the whole service group).
            try? await gracefulShutdown()
            return
        }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        await cancelWhenGracefulShutdown {
            await listen(on: threadPool)
        }
        try? await threadPool.shutdownGracefully()
    }

    private func listen(on threadPool: NIOThreadPool) async {
        var listener: PostgresConnection?
        var pendingSince: ContinuousClock.Instant?
        var notBefore = ContinuousClock.now
        while !Task.isCancelled {
            do {
                let connection: PostgresConnection
                if let listener {
                    connection = listener
                } else {
                    connection = try await threadPool.runIfActive { [conninfo] in
                        let connection = try PostgresConnection.connect(conninfo)
                        try connection.listen(Self.channel)
                        return connection
                    }
                    listener = connection
                    pendingSince = .now  // writes may have happened while nobody listened
                }
                let received = try await threadPool.runIfActive { try connection.waitForNotifications(timeout: .milliseconds(250)) }
                if !received.isEmpty, pendingSince == nil { pendingSince = .now }
                if let since = pendingSince, ContinuousClock.now - since >= debounce, ContinuousClock.now >= notBefore {
                    let started = ContinuousClock.now
                    pendingSince = try await Self.refresh(pool) ? nil : .now
                    // A refresh costs the whole database (Benchmarks/README.md): keep it to a third of the time.
                    notBefore = .now + (ContinuousClock.now - started) * 2
                }
            } catch {
                logger.warning("rollup listener failed; reconnecting", metadata: ["error": "\(error)"])
                if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
                listener = nil
                try? await Task.sleep(for: .seconds(1))
            }
        }
        if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
    }

    /// Refreshes every materialized rollup; false when another instance is refreshing. The refresh may take
    /// longer than the server's statement timeout, so it runs without one.
    static func refresh(_ pool: ConnectionPool) async throws -> Bool {
        try await pool.withConnection { connection in
            try connection.pipeline([
                Statement("SELECT set_config('statement_timeout', '0', true)"), Statement("SELECT app.refresh_rollups()"),
            ])[1].bool(0, 0) ?? false
        }
    }
}

extension RollupRefresher: CustomStringConvertible {
    /// What service-lifecycle logs: the name only (the default would print every stored property, the database
    /// URL with its password among them).
    var description: String { "RollupRefresher" }
}
