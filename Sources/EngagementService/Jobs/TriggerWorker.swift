import Logging
import PostgresClient
import ServiceLifecycle

/// Empties the trigger outbox: the database notifies `engagement_trigger_firings` when a firing commits; this
/// service listens on its own connection and, on a notification or every `pollInterval` (retries come due with
/// time), runs `app.perform_trigger_firings` through the pool until no due firing is left, and announces the
/// reminders that came up (`app.announce_due_reminders`: timeline entries, so events). Several instances share
/// the work (the functions skip or claim rows atomically). Failures are logged and retried.
struct TriggerWorker: Service {
    static let channel = "engagement_trigger_firings"
    static let batch = 100

    let conninfo: String
    let pool: ConnectionPool
    let pollInterval: Duration
    let logger: Logger

    func run() async throws {
        guard pollInterval > .zero else {
            try? await gracefulShutdown()
            return
        }
        let listener = NotificationListener(conninfo: conninfo, channel: Self.channel, logger: logger)
        await cancelWhenGracefulShutdown {
            // Woken by a commit, or by the timer (retries come due with time): either way, do what is due.
            await listener.run(waiting: pollInterval) { _, _ in try await performDue() }
        }
    }

    /// Announces reminders that came up, then performs due firings in batches until a batch comes back short.
    func performDue() async throws {
        _ = try await pool.withConnection { connection in try connection.pipeline([Statement("SELECT app.announce_due_reminders()")]) }
        while !Task.isCancelled {
            let performed = try await pool.withConnection { connection in
                try connection.pipeline([Statement("SELECT app.perform_trigger_firings(\(Self.batch))")])[0].int(0, 0) ?? 0
            }
            if performed > 0 { logger.debug("trigger firings performed", metadata: ["count": "\(performed)"]) }
            if performed < Self.batch { return }
        }
    }
}

extension TriggerWorker: CustomStringConvertible {
    /// What service-lifecycle logs: the name only (not the database URL with its password).
    var description: String { "TriggerWorker" }
}
