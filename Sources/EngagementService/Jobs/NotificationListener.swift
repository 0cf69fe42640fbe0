import Logging
import NIOPosix
import PostgresClient

/// A connection of its own that LISTENs on one channel, on a thread of its own (libpq waits block), reconnecting
/// after failures. The jobs that react to the database's notifications (`RollupRefresher`, `TriggerWorker`,
/// `EventListener`) run on it and differ only in what they do when woken.
struct NotificationListener: Sendable {
    let conninfo: String
    let channel: String
    let logger: Logger
    /// The longest a wait blocks its thread before the task's cancellation is looked at.
    static let slice: Duration = .milliseconds(200)

    /// Calls `wake` after every wait of at most `timeout`, with what arrived (nothing on a timeout), and first after
    /// each (re)connection with `reconnected` true (notifications sent while nobody listened are lost, so a job
    /// catches up then). A failing `wake` or connection is logged, and the listener reconnects a second later.
    /// Returns when the task is cancelled.
    func run(
        waiting timeout: Duration,
        _ wake: (_ received: [PostgresNotification], _ reconnected: Bool) async throws -> Void
    ) async {
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        var listener: PostgresConnection?
        while !Task.isCancelled {
            do {
                if listener == nil {
                    listener = try await threadPool.runIfActive { [conninfo, channel] in
                        let connection = try PostgresConnection.connect(conninfo)
                        try connection.listen(channel)
                        return connection
                    }
                    try await wake([], true)
                }
                guard let connection = listener else { continue }
                // A libpq wait cannot be interrupted: wait in short slices so shutdown never waits a whole timeout.
                var received: [PostgresNotification] = []
                var waited: Duration = .zero
                repeat {
                    let slice = min(Self.slice, timeout - waited)
                    received = try await threadPool.runIfActive { try connection.waitForNotifications(timeout: slice) }
                    waited += slice
                } while received.isEmpty && waited < timeout && !Task.isCancelled
                if Task.isCancelled { break }
                try await wake(received, false)
            } catch {
                if Task.isCancelled { break }
                logger.warning("listener failed; reconnecting", metadata: ["channel": "\(channel)", "error": "\(error)"])
                if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
                listener = nil
                try? await Task.sleep(for: .seconds(1))
            }
        }
        if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
        try? await threadPool.shutdownGracefully()
    }
}
