import Logging
import PostgresClient
import ServiceLifecycle

/// Periodic database work that no client write triggers: rules that depend on time alone (health decay,
/// check-in freshness), time-driven trigger events (contracts ending, missed touchpoints, overdue items,
/// low adoption) and renewals coming due (`app.sweep_renewals`) are swept, and every organisation's maintained
/// rollups (whose current health decays with time) are refreshed, every `interval`. The database functions take
/// advisory locks, so several server instances never do either at once. Failures are logged and retried at the
/// next tick.
struct MaintenanceService: Service {
    let pool: ConnectionPool
    let interval: Duration
    let logger: Logger

    func run() async throws {
        guard interval > .zero else {
            // Turned off: stay until shutdown (a service that returns would end the whole service group).
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                await sweep()
            }
        }
    }

    func sweep() async {
        do {
            let swept = try await pool.withConnection { connection in
                try connection.pipeline([
                    Statement("SELECT app.sweep_risk_rules()"), Statement("SELECT app.sweep_trigger_events()"),
                    Statement("SELECT app.sweep_renewals()"),
                ]).map { $0.int(0, 0) ?? 0 }
            }
            logger.debug("sweep done", metadata: [
                "signals_changed": "\(swept[0])", "trigger_firings": "\(swept[1])", "renewal_signals": "\(swept[2])",
            ])
            let skipped = try await RollupRefresher.refresh(.everyOrganisation, pool, metrics: nil)
            logger.debug("periodic rollup refresh", metadata: ["refreshing_elsewhere": "\(skipped.count)"])
        } catch {
            logger.warning("maintenance failed; retrying at the next interval", metadata: ["error": "\(error)"])
        }
    }
}

extension MaintenanceService: CustomStringConvertible {
    /// What service-lifecycle logs: the name only (the default would print every stored property, the database
    /// URL with its password among them).
    var description: String { "MaintenanceService" }
}
