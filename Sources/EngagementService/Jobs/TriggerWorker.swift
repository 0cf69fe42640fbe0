import Logging
import NIOPosix
import PostgresClient
import ServiceLifecycle

/// Empties the trigger outbox: the database notifies `engagement_trigger_firings` when a firing commits; this
/// service listens on its own connection and, on a notification or every `pollInterval` (retries come due with
/// time), runs `app.perform_trigger_firings` through the pool until no due firing is left. Several instances
/// share the work (the function skips rows another worker holds). Failures are logged and retried.
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
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        await cancelWhenGracefulShutdown {
            await listen(on: threadPool)
        }
        try? await threadPool.shutdownGracefully()
    }

    private func listen(on threadPool: NIOThreadPool) async {
        var listener: PostgresConnection?
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
                }
                try await performDue()
                _ = try await threadPool.runIfActive { [pollInterval] in try connection.waitForNotifications(timeout: pollInterval) }
            } catch {
                logger.warning("trigger worker failed; reconnecting", metadata: ["error": "\(error)"])
                if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
                listener = nil
                try? await Task.sleep(for: .seconds(1))
            }
        }
        if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
    }

    /// Performs due firings in batches until a batch comes back short.
    func performDue() async throws {
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
