import Logging
import PostgresClient
import ServiceLifecycle

/// Stamps the primary's heartbeat (`app.replica_heartbeat()`) every `interval` while a replica is configured; its
/// age as replayed on the replica is how `ReplicaRoute` tells whether the replica is fresh enough. Every instance
/// stamps (one row, last writer wins): the heartbeat goes on while any server runs. Failures are logged at debug
/// level (the primary being down shows elsewhere) and the next beat tries again. It has a pool (one connection) of
/// its own, closed when it stops, so a beat never waits behind background work.
struct ReplicaHeartbeat: Service {
    let pool: ConnectionPool
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await pool.withConnection { connection in
                        try connection.pipeline([Statement("SELECT app.replica_heartbeat()")])
                    }
                } catch {
                    logger.debug("replica heartbeat failed", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
        await pool.shutdown()
    }
}

extension ReplicaHeartbeat: CustomStringConvertible {
    var description: String { "ReplicaHeartbeat" }
}
