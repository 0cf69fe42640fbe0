import Logging
import NIOPosix

/// A bounded pool of libpq connections.
///
/// - At most `maximumConnections` connections exist; a caller waits at most `acquireTimeout` for one and
///   then gets `PoolError.acquireTimedOut`.
/// - All libpq work (connect, statements, health checks, close) runs on the pool's own `NIOThreadPool`,
///   one thread per connection, so it never blocks a NIO event loop or Swift's cooperative executor.
/// - A leased connection is checked without blocking before use; a broken one (terminated backend,
///   restarted server) is replaced transparently, and idle connections are pinged by `run()`.
public actor ConnectionPool {
    public struct Configuration: Sendable {
        public var conninfo: String
        public var maximumConnections: Int
        public var acquireTimeout: Duration
        /// Idle connections older than this are pinged by `run()`; dead ones are closed.
        public var healthCheckInterval: Duration
        /// Statements sent once on every new connection (session settings such as `statement_timeout`).
        public var connectionSetup: [String]
        /// Named prepared statements (`PostgresConnection.usesPreparedStatements`); off behind pgbouncer < 1.21.
        public var preparedStatements: Bool
        /// Pipelines in explicit transaction blocks on a database where the citus extension is installed
        /// (`PostgresConnection.wrapsPipelinesInTransactionBlocks`), checked on each new connection.
        public var transactionBlocksOnCitus = true

        public init(
            conninfo: String, maximumConnections: Int = 10, acquireTimeout: Duration = .seconds(5),
            healthCheckInterval: Duration = .seconds(30), connectionSetup: [String] = [], preparedStatements: Bool = true
        ) {
            self.conninfo = conninfo
            self.maximumConnections = maximumConnections
            self.acquireTimeout = acquireTimeout
            self.healthCheckInterval = healthCheckInterval
            self.connectionSetup = connectionSetup
            self.preparedStatements = preparedStatements
        }
    }

    /// A snapshot for metrics and tests.
    public struct Statistics: Sendable {
        public var open: Int
        public var idle: Int
        public var waiting: Int
        public var opened: Int
        public var replaced: Int
    }

    public nonisolated let configuration: Configuration
    private let threadPool: NIOThreadPool
    private let logger: Logger

    /// Idle connections, slots, waiters and their deadlines: the rules (`PoolStateMachine`).
    private var state: PoolStateMachine<PostgresConnection>
    /// The continuations of the callers the state machine lists as waiting, by waiter id.
    private var continuations: [Int: CheckedContinuation<PostgresConnection?, any Error>] = [:]
    /// Fails waiters whose deadline passed: one task while anyone waits, rather than a timer per waiting call
    /// (under load most calls wait, and a timer task started and cancelled per call showed in the profile).
    private var waiterExpiry: Task<Void, Never>?

    public init(configuration: Configuration, logger: Logger = Logger(label: "postgres.pool")) {
        precondition(configuration.maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.logger = logger
        self.state = PoolStateMachine(
            maximumConnections: configuration.maximumConnections, acquireTimeout: configuration.acquireTimeout)
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.maximumConnections)
        self.threadPool.start()
    }

    public var statistics: Statistics {
        Statistics(
            open: state.slotsInUse, idle: state.idle.count, waiting: state.waiters.count, opened: state.opened,
            replaced: state.replaced)
    }

    /// Leases a connection, runs `body` with it on a blocking thread, and returns the connection to the pool
    /// (or discards it when the work revealed it broken).
    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> Result
    ) async throws -> Result {
        let leased = try await acquire()
        let setup = configuration.connectionSetup
        let conninfo = configuration.conninfo
        let preparedStatements = configuration.preparedStatements
        let transactionBlocksOnCitus = configuration.transactionBlocksOnCitus
        let outcome: (PostgresConnection?, Swift.Result<Result, any Error>, Bool)
        do {
            outcome = try await threadPool.runIfActive {
                () -> (PostgresConnection?, Swift.Result<Result, any Error>, Bool) in
                var replacedBroken = false
                let connection: PostgresConnection
                if let leased, leased.isUsable {
                    connection = leased
                } else {
                    replacedBroken = leased != nil
                    leased?.close()
                    do throws(PostgresError) {
                        connection = try PostgresConnection.connect(conninfo)
                        connection.usesPreparedStatements = preparedStatements
                        for statement in setup { try connection.executeScript(statement) }
                        if transactionBlocksOnCitus {
                            connection.wrapsPipelinesInTransactionBlocks = try connection.isCitus()
                        }
                    } catch {
                        return (nil, .failure(PoolError.unavailable(error)), replacedBroken)
                    }
                }
                let result = Swift.Result { try body(connection) }
                if case .failure(let error as PostgresError) = result, !connection.isUsable || error.isConnectionProblem {
                    connection.close()
                    return (nil, result, replacedBroken)
                }
                return (connection, result, replacedBroken)
            }
        } catch {
            release(nil, isNew: false, replacedBroken: false)
            throw PoolError.shutDown
        }
        release(outcome.0, isNew: leased == nil || outcome.2, replacedBroken: outcome.2)
        return try outcome.1.get()
    }

    /// Pings idle connections that have not been used for `healthCheckInterval` and closes dead ones,
    /// until the surrounding task is cancelled.
    public func run() async {
        while !Task.isCancelled && !state.isShutDown {
            do { try await Task.sleep(for: configuration.healthCheckInterval) } catch { return }
            await checkIdleConnections()
        }
    }

    func checkIdleConnections() async {
        let cutoff = ContinuousClock.now - configuration.healthCheckInterval
        let stale = state.takeIdle { $0.lastUsed < cutoff }
        for connection in stale {
            let alive = (try? await threadPool.runIfActive { () -> Bool in
                do {
                    try connection.executeScript("SELECT 1")
                    connection.lastUsed = .now
                    return true
                } catch {
                    connection.close()
                    return false
                }
            }) ?? false
            if alive {
                release(connection, isNew: false, replacedBroken: false)
            } else {
                logger.info("closed a dead idle database connection")
                release(nil, isNew: false, replacedBroken: false)
            }
        }
    }

    /// Stops handing out connections, fails every waiter, closes idle connections and the thread pool.
    /// Leased connections are closed when their work returns.
    public func shutdown() async {
        guard !state.isShutDown else { return }
        let (failed, closing) = state.shutdown()
        for id in failed { continuations.removeValue(forKey: id)?.resume(throwing: PoolError.shutDown) }
        waiterExpiry?.cancel()
        _ = try? await threadPool.runIfActive { for connection in closing { connection.close() } }
        try? await threadPool.shutdownGracefully()
    }


    // MARK: leasing

    /// Returns an idle connection, or nil meaning "a slot is reserved for you: open a connection".
    private func acquire() async throws -> PostgresConnection? {
        switch state.acquire(now: .now) {
        case .fail:
            throw PoolError.shutDown
        case .use(let connection):
            return connection
        case .open:
            return nil
        case .wait(let waiter):
            let id = waiter.id
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    continuations[id] = continuation
                    state.enqueue(waiter)
                    if waiterExpiry == nil { waiterExpiry = Task { await self.expireWaiters() } }
                }
            } onCancel: {
                Task { await self.cancelWaiter(id) }
            }
        }
    }

    /// Sleeps until the oldest waiter's deadline, fails those past theirs, and repeats while anyone waits.
    private func expireWaiters() async {
        defer { waiterExpiry = nil }
        while let deadline = state.nextDeadline {
            if deadline > .now {
                do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
                continue
            }
            let milliseconds = Int(configuration.acquireTimeout.wholeMilliseconds)
            for id in state.expire(now: .now) {
                continuations.removeValue(forKey: id)?.resume(throwing: PoolError.acquireTimedOut(milliseconds: milliseconds))
            }
        }
    }

    private func cancelWaiter(_ id: Int) {
        guard state.cancel(waiterID: id) else { return }
        continuations.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    /// Gives a connection (or, with nil, its slot) back: to the longest waiter first, else to the idle list.
    private func release(_ connection: PostgresConnection?, isNew: Bool, replacedBroken: Bool) {
        switch state.release(connection, isNew: isNew, replacedBroken: replacedBroken) {
        case .handOver(let id, let connection):
            continuations.removeValue(forKey: id)?.resume(returning: connection)
        case .keptIdle, .freedSlot:
            break
        case .close(let connection):
            if let connection {
                Task { [threadPool] in _ = try? await threadPool.runIfActive { connection.close() } }
            }
        }
    }
}
