import Foundation
import Logging
import NIOPosix
import PostgresClient
import ServiceLifecycle

/// Wakes the `EventHub`: the database notifies `engagement_events` (payload: the organisation) when timeline
/// entries commit; this service listens on its own connection and starts deliveries for that organisation's
/// subscriptions, and every `tick` for all of them (entries that waited for an older transaction to end).
struct EventListener: Service {
    static let channel = "engagement_events"

    let conninfo: String
    let hub: EventHub
    let tick: Duration
    let logger: Logger

    func run() async throws {
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        await cancelWhenGracefulShutdown {
            await listen(on: threadPool)
        }
        try? await threadPool.shutdownGracefully()
    }

    private func listen(on threadPool: NIOThreadPool) async {
        var listener: PostgresConnection?
        var lastTick = ContinuousClock.now
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
                    await hub.deliver(organisation: nil)  // whatever committed while nobody listened
                }
                let received = try await threadPool.runIfActive { [tick] in try connection.waitForNotifications(timeout: tick) }
                for organisation in Set(received.compactMap { UUID(uuidString: $0.payload) }) {
                    await hub.deliver(organisation: organisation)
                }
                if ContinuousClock.now - lastTick >= tick {
                    lastTick = .now
                    await hub.deliver(organisation: nil)
                }
            } catch {
                logger.warning("event listener failed; reconnecting", metadata: ["error": "\(error)"])
                if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
                listener = nil
                try? await Task.sleep(for: .seconds(1))
            }
        }
        if let listener { _ = try? await threadPool.runIfActive { listener.close() } }
    }
}

extension EventListener: CustomStringConvertible {
    var description: String { "EventListener" }
}
