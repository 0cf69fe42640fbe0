import Foundation
import Logging
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
        let listener = NotificationListener(conninfo: conninfo, channel: Self.channel, logger: logger)
        await cancelWhenGracefulShutdown {
            var lastTick = ContinuousClock.now
            await listener.run(waiting: tick) { received, reconnected in
                // After a reconnection, whatever committed while nobody listened; otherwise the organisations named.
                if reconnected { await hub.deliver(organisation: nil) }
                for organisation in Set(received.compactMap { UUID(uuidString: $0.payload) }) {
                    await hub.deliver(organisation: organisation)
                }
                if ContinuousClock.now - lastTick >= tick {
                    lastTick = .now
                    await hub.deliver(organisation: nil)
                }
            }
        }
    }
}

extension EventListener: CustomStringConvertible {
    var description: String { "EventListener" }
}
