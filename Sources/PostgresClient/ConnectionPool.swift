import Logging
import NIOPosix
import Synchronization

/// A bounded pool of libpq connections.
///
/// - At most `maximumConnections` connections exist; a caller waits at most `acquireTimeout` for one and
///   then gets `PoolError.acquireTimedOut`.
/// - A call's round trip (`pipeline`) runs from the calling task's executor without blocking it: libpq in
///   non-blocking mode, the socket awaited through `SocketReadiness`. Everything that blocks (connect, the work
///   of `withConnection`, health checks) runs on the pool's own `NIOThreadPool`, one thread per connection, so it
///   never blocks a NIO event loop or Swift's cooperative executor.
/// - A leased connection is checked without blocking before use; a broken one (terminated backend,
///   restarted server) is replaced transparently, and idle connections are pinged by `run()`.
/// - Leasing and returning a connection take a lock around `PoolStateMachine`, not an actor: a call whose
///   connection is free never suspends for it, and a call's task on an event loop does not hop to another
///   executor and back twice per call (each hop an enqueue on the loop; measured in Benchmarks/README.md).
public final class ConnectionPool: Sendable {
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

    public let configuration: Configuration
    private let threadPool: NIOThreadPool
    private let logger: Logger

    private struct State: ~Copyable {
        /// Idle connections, slots, waiters and their deadlines: the rules (`PoolStateMachine`).
        var machine: PoolStateMachine<PostgresConnection>
        /// The continuations of the callers the state machine lists as waiting, by waiter id.
        var continuations: [Int: CheckedContinuation<PostgresConnection?, any Error>] = [:]
        /// Fails waiters whose deadline passed: one task while anyone waits, rather than a timer per waiting call
        /// (under load most calls wait, and a timer task started and cancelled per call showed in the profile).
        var waiterExpiry: Task<Void, Never>?
    }
    private let state: Mutex<State>

    public init(configuration: Configuration, logger: Logger = Logger(label: "postgres.pool")) {
        precondition(configuration.maximumConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(machine: PoolStateMachine(
            maximumConnections: configuration.maximumConnections, acquireTimeout: configuration.acquireTimeout)))
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.maximumConnections)
        self.threadPool.start()
    }

    public var statistics: Statistics {
        get async {
            state.withLock {
                Statistics(
                    open: $0.machine.slotsInUse, idle: $0.machine.idle.count, waiting: $0.machine.waiters.count,
                    opened: $0.machine.opened, replaced: $0.machine.replaced)
            }
        }
    }

    /// Leases a connection, runs `body` with it on a blocking thread, and returns the connection to the pool
    /// (or discards it when the work revealed it broken).
    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> Result
    ) async throws -> Result {
        let lease = try await self.lease()
        let result: Swift.Result<Result, any Error>
        do {
            result = try await threadPool.runIfActive { Swift.Result { try body(lease.connection) } }
        } catch {
            lease.connection.close()
            release(nil, isNew: false, replacedBroken: lease.replacedBroken)
            throw PoolError.shutDown
        }
        giveBack(lease, after: result)
        return try result.get()
    }

    /// What `pipeline` returns: when the connection was in hand (the wait for it is measured whether the statements
    /// succeed or not), and the statements' outcome.
    public struct PipelineOutcome: Sendable {
        public let connected: ContinuousClock.Instant
        public let results: Swift.Result<[PostgresResult], PostgresError>
    }

    /// Leases a connection and runs one pipeline on it from the calling task's executor, waiting for the socket
    /// through `SocketReadiness` (`PostgresConnection.pipelineOnLoop`): no thread of the pool is involved, so a
    /// server call's round trip never leaves its event loop's thread except for the readiness wake-up. Only
    /// opening a connection (a blocking libpq connect) runs on the pool's threads. Errors of the pool (timeout,
    /// shutdown, unreachable database) are thrown; the statements' errors are in the outcome.
    public func pipeline(_ statements: [Statement]) async throws -> PipelineOutcome {
        let lease = try await self.lease()
        let connected = ContinuousClock.now
        let results: Swift.Result<[PostgresResult], PostgresError>
        do throws(PostgresError) {
            results = .success(try await lease.connection.pipelineOnLoop(statements, readiness: .shared))
        } catch {
            results = .failure(error)
        }
        giveBack(lease, after: results)
        return PipelineOutcome(connected: connected, results: results)
    }

    /// A leased connection that was checked usable (or opened for the lease).
    private struct Lease {
        let connection: PostgresConnection
        /// Opened for this lease (a free slot, or in place of a broken one).
        let isNew: Bool
        /// It replaced an idle connection found broken.
        let replacedBroken: Bool
    }

    /// Leases a connection: an idle one checked without blocking, else one opened on the pool's threads (libpq's
    /// connect blocks) in the slot reserved for the caller or in place of the broken one.
    private func lease() async throws -> Lease {
        let leased = try await acquire()
        if let leased, leased.isUsable { return Lease(connection: leased, isNew: false, replacedBroken: false) }
        let replacedBroken = leased != nil
        leased?.close()
        let open = opener
        do {
            let connection = try await threadPool.runIfActive { () throws(PoolError) -> PostgresConnection in try open() }
            return Lease(connection: connection, isNew: true, replacedBroken: replacedBroken)
        } catch {
            release(nil, isNew: false, replacedBroken: replacedBroken)
            throw error is PoolError ? error : PoolError.shutDown
        }
    }

    /// Returns a leased connection after its work, or only its slot when the work's database error revealed it
    /// broken.
    private func giveBack<Value>(_ lease: Lease, after outcome: Swift.Result<Value, some Error>) {
        var kept: PostgresConnection? = lease.connection
        if case .failure(let failure) = outcome, let error = failure as? PostgresError,
            !lease.connection.isUsable || error.isConnectionProblem
        {
            lease.connection.close()
            kept = nil
        }
        release(kept, isNew: lease.isNew, replacedBroken: lease.replacedBroken)
    }

    /// Opens and sets up a connection; runs on one of the pool's threads (libpq's connect blocks).
    private var opener: @Sendable () throws(PoolError) -> PostgresConnection {
        let configuration = self.configuration
        return { () throws(PoolError) -> PostgresConnection in
            do throws(PostgresError) {
                let connection = try PostgresConnection.connect(configuration.conninfo)
                connection.usesPreparedStatements = configuration.preparedStatements
                for statement in configuration.connectionSetup { try connection.executeScript(statement) }
                if configuration.transactionBlocksOnCitus {
                    connection.wrapsPipelinesInTransactionBlocks = try connection.isCitus()
                }
                return connection
            } catch {
                throw PoolError.unavailable(error)
            }
        }
    }

    /// Pings idle connections that have not been used for `healthCheckInterval` and closes dead ones,
    /// until the surrounding task is cancelled.
    public func run() async {
        while !Task.isCancelled && !state.withLock({ $0.machine.isShutDown }) {
            do { try await Task.sleep(for: configuration.healthCheckInterval) } catch { return }
            await checkIdleConnections()
        }
    }

    func checkIdleConnections() async {
        let cutoff = ContinuousClock.now - configuration.healthCheckInterval
        let stale = state.withLock { $0.machine.takeIdle { $0.lastUsed < cutoff } }
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
        let (failed, closing, expiry) = state.withLock { state -> ([CheckedContinuation<PostgresConnection?, any Error>], [PostgresConnection], Task<Void, Never>?) in
            guard !state.machine.isShutDown else { return ([], [], nil) }
            let (failed, closing) = state.machine.shutdown()
            let continuations = failed.compactMap { state.continuations.removeValue(forKey: $0) }
            return (continuations, closing, state.waiterExpiry)
        }
        for continuation in failed { continuation.resume(throwing: PoolError.shutDown) }
        expiry?.cancel()
        _ = try? await threadPool.runIfActive { for connection in closing { connection.close() } }
        try? await threadPool.shutdownGracefully()
    }

    // MARK: leasing

    /// Returns an idle connection, or nil meaning "a slot is reserved for you: open a connection". Suspends only
    /// when every slot is taken.
    private func acquire() async throws -> PostgresConnection? {
        if let immediate = Self.immediate(state.withLock({ $0.machine.acquire(now: .now) })) { return try immediate.get() }
        // Asked again under the lock together with queueing, so that a release in between is not missed.
        let registration = WaiterRegistration()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresConnection?, any Error>) in
                let immediate: Result<PostgresConnection?, any Error>? = state.withLock { state in
                    let action = state.machine.acquire(now: .now)
                    guard case .wait(let waiter) = action else { return Self.immediate(action) }
                    guard registration.waiting(waiter.id) else { return .failure(CancellationError()) }
                    state.continuations[waiter.id] = continuation
                    state.machine.enqueue(waiter)
                    if state.waiterExpiry == nil { state.waiterExpiry = Task { await self.expireWaiters() } }
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            if let id = registration.cancel() { cancelWaiter(id) }
        }
    }

    /// What an acquire answers without waiting; nil when the caller has to wait.
    private static func immediate(_ action: PoolStateMachine<PostgresConnection>.AcquireAction) -> Result<PostgresConnection?, any Error>? {
        switch action {
        case .fail: .failure(PoolError.shutDown)
        case .use(let connection): .success(connection)
        case .open: .success(nil)
        case .wait: nil
        }
    }

    /// Sleeps until the oldest waiter's deadline, fails those past theirs, and repeats while anyone waits.
    private func expireWaiters() async {
        let milliseconds = Int(configuration.acquireTimeout.wholeMilliseconds)
        while true {
            let (deadline, expired) = state.withLock { state -> (ContinuousClock.Instant?, [CheckedContinuation<PostgresConnection?, any Error>]) in
                let expired = state.machine.expire(now: .now).compactMap { state.continuations.removeValue(forKey: $0) }
                let deadline = state.machine.nextDeadline
                if deadline == nil { state.waiterExpiry = nil }
                return (deadline, expired)
            }
            for continuation in expired { continuation.resume(throwing: PoolError.acquireTimedOut(milliseconds: milliseconds)) }
            guard let deadline else { return }
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
        }
    }

    private func cancelWaiter(_ id: Int) {
        let continuation = state.withLock { state in
            state.machine.cancel(waiterID: id) ? state.continuations.removeValue(forKey: id) : nil
        }
        continuation?.resume(throwing: CancellationError())
    }

    /// Gives a connection (or, with nil, its slot) back: to the longest waiter first, else to the idle list.
    private func release(_ connection: PostgresConnection?, isNew: Bool, replacedBroken: Bool) {
        enum Then { case resume(CheckedContinuation<PostgresConnection?, any Error>?, PostgresConnection?), close(PostgresConnection?), nothing }
        let then = state.withLock { state -> Then in
            switch state.machine.release(connection, isNew: isNew, replacedBroken: replacedBroken) {
            case .handOver(let id, let connection): return .resume(state.continuations.removeValue(forKey: id), connection)
            case .keptIdle, .freedSlot: return .nothing
            case .close(let connection): return .close(connection)
            }
        }
        switch then {
        case .resume(let continuation, let connection): continuation?.resume(returning: connection)
        case .close(let connection?):
            Task { [threadPool] in _ = try? await threadPool.runIfActive { connection.close() } }
        case .close(nil), .nothing: break
        }
    }
}

/// Whether a waiting caller was cancelled before or after it was queued (its cancellation handler and its
/// queueing may run on different threads in either order).
private final class WaiterRegistration: Sendable {
    private enum Phase { case pending, waiting(Int), cancelled }
    private let phase = Mutex(Phase.pending)

    /// Records the waiter's id; false when the caller was cancelled already.
    func waiting(_ id: Int) -> Bool {
        phase.withLock {
            if case .cancelled = $0 { return false }
            $0 = .waiting(id)
            return true
        }
    }

    /// Marks the caller cancelled; the id to take out of the queue, when it was queued.
    func cancel() -> Int? {
        phase.withLock {
            let queued: Int? = if case .waiting(let id) = $0 { id } else { nil }
            $0 = .cancelled
            return queued
        }
    }
}
