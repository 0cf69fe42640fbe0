/// The bookkeeping of `ConnectionPool` as a plain value: which connections are idle, how many slots are taken,
/// who waits and until when, and what each event means. The actor performs the actions (resuming waiters, opening
/// and closing connections on its threads); the rules are tested here without a database.
///
/// Rules: at most `maximumConnections` slots (idle, leased or being opened); an idle connection is reused
/// before a slot is opened; a caller that finds every slot taken waits, oldest first, until its deadline; a
/// released connection (or, when it broke, its slot) goes to the oldest waiter first, else back to the idle list;
/// after shutdown nothing is handed out and released connections are closed.
struct PoolStateMachine<Connection> {
    enum AcquireAction {
        /// Use this idle connection.
        case use(Connection)
        /// A slot is reserved for the caller: open a connection.
        case open
        /// Every slot is taken: wait as this waiter (queue it with `enqueue` once its continuation exists).
        case wait(Waiter)
        /// The pool is shut down.
        case fail
    }

    enum ReleaseAction {
        /// Resume the waiter with the connection; with nil it opens a fresh one in the slot it takes over.
        case handOver(waiterID: Int, Connection?)
        /// Back to the idle list (done by the machine); nothing to do.
        case keptIdle
        /// The slot is free again (the connection broke); nothing to do.
        case freedSlot
        /// The pool is shut down: close the connection, if any.
        case close(Connection?)
    }

    struct Waiter {
        let id: Int
        let deadline: ContinuousClock.Instant
    }

    let maximumConnections: Int
    let acquireTimeout: Duration

    private(set) var idle: [Connection] = []
    /// Connections that exist or are being opened (idle + leased + connecting).
    private(set) var slotsInUse = 0
    /// Oldest first; all wait for the same timeout, so the oldest also has the earliest deadline.
    private(set) var waiters: [Waiter] = []
    private(set) var isShutDown = false
    private(set) var opened = 0
    private(set) var replaced = 0
    private var nextWaiterID = 0

    init(maximumConnections: Int, acquireTimeout: Duration) {
        precondition(maximumConnections > 0, "a pool needs at least one connection")
        self.maximumConnections = maximumConnections
        self.acquireTimeout = acquireTimeout
    }

    mutating func acquire(now: ContinuousClock.Instant) -> AcquireAction {
        if isShutDown { return .fail }
        if let connection = idle.popLast() { return .use(connection) }
        if slotsInUse < maximumConnections {
            slotsInUse += 1
            return .open
        }
        let waiter = Waiter(id: nextWaiterID, deadline: now + acquireTimeout)
        nextWaiterID += 1
        return .wait(waiter)
    }

    /// Queues a waiter `acquire` asked to wait. Separate, so that the actor queues it only once it can be resumed.
    mutating func enqueue(_ waiter: Waiter) {
        waiters.append(waiter)
    }

    /// A leased connection (nil: it broke and was closed, or could not be opened) comes back. `isNew`: it was
    /// opened for this lease; `replacedBroken`: it replaced one found broken.
    mutating func release(_ connection: Connection?, isNew: Bool, replacedBroken: Bool) -> ReleaseAction {
        if isNew && connection != nil { opened += 1 }
        if replacedBroken { replaced += 1 }
        if isShutDown {
            slotsInUse -= 1
            return .close(connection)
        }
        if !waiters.isEmpty {
            // The waiter takes over the slot.
            return .handOver(waiterID: waiters.removeFirst().id, connection)
        }
        if let connection {
            idle.append(connection)
            return .keptIdle
        }
        slotsInUse -= 1
        return .freedSlot
    }

    /// The waiters whose deadline has passed, removed; they get `acquireTimedOut`.
    mutating func expire(now: ContinuousClock.Instant) -> [Int] {
        var expired: [Int] = []
        while let first = waiters.first, first.deadline <= now {
            expired.append(waiters.removeFirst().id)
        }
        return expired
    }

    /// The earliest deadline still pending.
    var nextDeadline: ContinuousClock.Instant? { isShutDown ? nil : waiters.first?.deadline }

    /// A waiter whose task was cancelled leaves the queue; false when it is no longer waiting.
    mutating func cancel(waiterID: Int) -> Bool {
        guard let index = waiters.firstIndex(where: { $0.id == waiterID }) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Takes the idle connections matching `predicate` out for a health check; each comes back through `release`
    /// (or, when dead, as nil).
    mutating func takeIdle(where predicate: (Connection) -> Bool) -> [Connection] {
        let taken = idle.filter(predicate)
        idle.removeAll(where: predicate)
        return taken
    }

    /// Stops handing out connections: returns the waiters to fail and the idle connections to close.
    mutating func shutdown() -> (waiters: [Int], idle: [Connection]) {
        guard !isShutDown else { return ([], []) }
        isShutDown = true
        let failed = waiters.map(\.id)
        waiters.removeAll()
        let closing = idle
        idle.removeAll()
        slotsInUse -= closing.count
        return (failed, closing)
    }
}
