import Foundation
import Logging
import Monitoring
import PostgresClient
import ServiceLifecycle
import Synchronization

/// Keeps the maintained rollups fresh after writes, one organisation at a time. Triggers on the rollups' inputs
/// send `engagement_rollup_stale` at commit with the organisation as the payload; this service listens on its own
/// connection and refreshes through the pool, as `RollupStaleness` decides: an organisation `debounce` after the
/// first notification of a burst, and a round of every organisation (in a task of its own, beside them) when the
/// listener (re)connects. The database lets one refresh of an organisation run at a time across all instances
/// (advisory lock); one that finds another running is retried after another `debounce`.
struct RollupRefresher: Service {
    static let channel = "engagement_rollup_stale"

    /// What to refresh: some organisations, or every one (leaving out those another refresh started after the
    /// round was planned).
    enum Work: Sendable {
        case organisations([UUID])
        case everyOrganisation
    }

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
        let staleness = StalenessBox(RollupStaleness(debounce: debounce))
        await cancelWhenGracefulShutdown {
            await listener.run(waiting: .milliseconds(250)) { received, reconnected in
                let now = ContinuousClock.now
                let (due, startRound) = staleness.state.withLock { state in
                    if reconnected { state.stale(nil, at: now) }
                    for notification in received { state.stale(UUID(uuidString: notification.payload), at: now) }
                    return (state.due(at: now), state.startRound(at: now))
                }
                if startRound { staleness.round.withLock { $0 = runRound(staleness) } }
                guard let (organisations, since) = due else { return }
                let started = ContinuousClock.now
                let skipped = try await Self.refresh(.organisations(organisations), pool, metrics: metrics)
                metrics?.rollupLag.set((ContinuousClock.now - since).milliseconds / 1000)
                staleness.state.withLock { $0.finished(skipped: skipped, started: started, now: .now) }
            }
        }
        let round = staleness.round.withLock { $0 }
        round?.cancel()
        await round?.value
    }

    /// A round of every organisation, beside the organisations' own refreshes; a failed round is tried again.
    private func runRound(_ staleness: StalenessBox) -> Task<Void, Never> {
        Task { [pool, metrics, logger] in
            var skipped: [UUID] = []
            do {
                skipped = try await Self.refresh(.everyOrganisation, pool, metrics: metrics)
            } catch {
                if !Task.isCancelled { logger.warning("rollup round failed; trying again", metadata: ["error": "\(error)"]) }
                staleness.state.withLock { $0.stale(nil, at: .now) }
            }
            staleness.state.withLock { $0.roundFinished(skipped: skipped, now: .now) }
        }
    }

    /// Refreshes the organisations of `work`, each in its own transaction; returns those refreshing elsewhere.
    static func refresh(_ work: Work, _ pool: ConnectionPool, metrics: ServiceMetrics?) async throws -> [UUID] {
        let organisations: [UUID]
        var unlessSince: String?
        switch work {
        case .organisations(let ids):
            organisations = ids
        case .everyOrganisation:
            // The database's clock, read before any refresh of this round: another instance's refresh that
            // started later saw every write this round is for, so that organisation is left as it is.
            let results = try await pool.withConnection { connection in
                try connection.pipeline([
                    Statement("SELECT clock_timestamp()"), Statement("SELECT app.rollup_organisations()"),
                ])
            }
            unlessSince = results[0].string(0, 0)
            organisations = (0..<results[1].rowCount).compactMap { results[1].uuid($0, 0) }
        }
        var skipped: [UUID] = []
        for organisation in organisations where !Task.isCancelled {
            let started = ContinuousClock.now
            if try await refresh(organisation, unlessSince: unlessSince, pool) {
                metrics?.rollupRefresh.record(ContinuousClock.now - started)
            } else {
                metrics?.rollupRefreshesSkipped.increment()
                skipped.append(organisation)
            }
        }
        return skipped
    }

    /// Replaces one organisation's maintained rollups; false when another instance is refreshing them. The
    /// refresh may take longer than the server's statement timeout, so it runs without one.
    static func refresh(_ organisation: UUID, unlessSince: String? = nil, _ pool: ConnectionPool) async throws -> Bool {
        try await pool.withConnection { connection in
            try connection.pipeline([
                TenantDatabase.untimed,
                Statement("SELECT app.refresh_rollups($1::uuid, $2::timestamptz)", [organisation.uuidString, unlessSince]),
            ])[1].bool(0, 0) ?? false
        }
    }
}

/// The refresher's state, shared by its listener and its round, and the round's task.
private final class StalenessBox: Sendable {
    let state: Mutex<RollupStaleness>
    let round = Mutex<Task<Void, Never>?>(nil)
    init(_ staleness: RollupStaleness) { state = Mutex(staleness) }
}

extension RollupRefresher: CustomStringConvertible {
    /// What service-lifecycle logs: the name only (the default would print every stored property, the database
    /// URL with its password among them).
    var description: String { "RollupRefresher" }
}
