import Foundation

/// Fair shares of the database pool between organisations: the rules, as a plain state machine that returns
/// actions (tested without a database or clock; `OrganisationShares` runs it).
///
/// - At most `capacity` calls hold a database connection at once (the pool's size, so the pool itself never
///   queues).
/// - An organisation alone may hold all but an eighth of them (from a pool of 8 up, another organisation arriving
///   finds one free; a smaller pool is all the organisation's while it is alone);
///   while another organisation is active (holds or waits for a connection, or did within `activityWindow`) it
///   may hold `contendedShare`. On a small machine the database's CPU is what calls contend for, so the share is
///   what keeps one organisation's flood from slowing everybody else's calls (Benchmarks/README.md, "Fairness").
/// - While another organisation is active, an organisation also waits while it has used up its `time` budget
///   (`DatabaseTimeBudget`: the database time its calls held connections for, refilled at a rate): a flood of
///   calls, cheap or dear, gets that much of the database and no more, however few connections it holds. A call
///   reserves its organisation's typical call time as it starts, so an organisation with a little time left
///   starts one call, not as many as its share.
/// - When a connection frees up it goes to the waiting organisation that holds the fewest (ties: the one whose
///   first waiter came first), not to whoever asked first: one organisation's backlog never stands in front of
///   another's calls.
/// - A waiter that is not admitted by its deadline fails (`-32005`, retry later).
public struct OrganisationShareStateMachine: Sendable {
    public typealias Organisation = UUID
    public typealias WaiterID = Int

    public enum AcquireAction: Equatable, Sendable {
        case proceed
        case wait
    }

    struct Waiter {
        let id: WaiterID
        let deadline: ContinuousClock.Instant
    }

    public let capacity: Int
    public let contendedShare: Int
    public let activityWindow: Duration
    /// Database time each organisation may use while another is active; nil: no limit but the share.
    private(set) var time: DatabaseTimeBudget?
    private(set) var inUse = 0
    private(set) var held: [Organisation: Int] = [:]
    /// Waiters per organisation, first come first; `arrival` orders the organisations' first waiters.
    private var waiting: [Organisation: [Waiter]] = [:]
    private var arrival: [WaiterID: UInt64] = [:]
    private var nextArrival: UInt64 = 0
    /// When each organisation last acquired or released (within the activity window, it counts as active).
    private var lastActive: [Organisation: ContinuousClock.Instant] = [:]
    /// The database time each running call reserved when it started (with a `time` budget).
    private var reservations: [WaiterID: Double] = [:]

    public init(
        capacity: Int, contendedShare: Int, time: DatabaseTimeBudget? = nil, activityWindow: Duration = .milliseconds(200)
    ) {
        precondition(capacity > 0 && contendedShare > 0)
        self.capacity = capacity
        self.contendedShare = min(contendedShare, capacity)
        self.time = time
        self.activityWindow = activityWindow
    }

    public var waiterCount: Int { waiting.values.reduce(0) { $0 + $1.count } }
    public func holding(_ organisation: Organisation) -> Int { held[organisation] ?? 0 }
    /// Alone, an organisation may hold all connections but an eighth, kept free for another one arriving.
    public var aloneLimit: Int { max(contendedShare, capacity - capacity / 8) }

    /// Whether another organisation is active now.
    public func contended(_ organisation: Organisation, now: ContinuousClock.Instant) -> Bool {
        held.keys.contains { $0 != organisation } || waiting.keys.contains { $0 != organisation }
            || lastActive.contains { $0.key != organisation && now - $0.value < activityWindow }
    }

    /// How many connections the organisation may hold now.
    public func limit(_ organisation: Organisation, now: ContinuousClock.Instant) -> Int {
        contended(organisation, now: now) ? contendedShare : aloneLimit
    }

    /// Whether the organisation may start another call now, room in the pool aside: below its limit, and while
    /// contended, with database time left.
    public func mayStart(_ organisation: Organisation, now: ContinuousClock.Instant) -> Bool {
        guard contended(organisation, now: now) else { return holding(organisation) < aloneLimit }
        return holding(organisation) < contendedShare && time?.allows(organisation, now: now) ?? true
    }

    func admissible(_ organisation: Organisation, now: ContinuousClock.Instant) -> Bool {
        inUse < capacity && mayStart(organisation, now: now)
    }

    /// A call of `organisation` wants a connection. It proceeds at once only when nobody of its organisation is
    /// already waiting (no overtaking within an organisation) and there is room.
    public mutating func acquire(
        _ organisation: Organisation, waiter: WaiterID, deadline: ContinuousClock.Instant, now: ContinuousClock.Instant
    ) -> AcquireAction {
        lastActive[organisation] = now
        if waiting[organisation, default: []].isEmpty, admissible(organisation, now: now) {
            start(organisation, waiter: waiter, now: now)
            return .proceed
        }
        waiting[organisation, default: []].append(Waiter(id: waiter, deadline: deadline))
        arrival[waiter] = nextArrival
        nextArrival += 1
        return .wait
    }

    /// The call `waiter` of `organisation` gave back the connection it `held` for so long: the waiters to admit now.
    public mutating func release(
        _ organisation: Organisation, waiter: WaiterID, held duration: Duration = .zero, now: ContinuousClock.Instant
    ) -> [WaiterID] {
        inUse -= 1
        let remaining = holding(organisation) - 1
        held[organisation] = remaining > 0 ? remaining : nil
        if let reserved = reservations.removeValue(forKey: waiter) {
            time?.settle(organisation, reserved: reserved, held: duration, now: now)
        }
        lastActive[organisation] = now
        if lastActive.count > 2 * max(held.count, 8) {
            lastActive = lastActive.filter { now - $0.value < activityWindow }
            time?.forgetFull(now: now)
        }
        return admitWaiting(now: now)
    }

    /// A call starts: it holds one of the organisation's connections and reserves its database time.
    private mutating func start(_ organisation: Organisation, waiter: WaiterID, now: ContinuousClock.Instant) {
        inUse += 1
        held[organisation, default: 0] += 1
        if time != nil { reservations[waiter] = time?.reserve(organisation, now: now) }
    }

    /// The waiters to fail (past their deadline) and to admit (their organisation's time came back) now.
    public mutating func wake(now: ContinuousClock.Instant) -> (expired: [WaiterID], admitted: [WaiterID]) {
        (expire(now: now), admitWaiting(now: now))
    }

    /// Fails the waiters whose deadline passed; returns them (they get no connection).
    public mutating func expire(now: ContinuousClock.Instant) -> [WaiterID] {
        var expired: [WaiterID] = []
        for (organisation, queue) in waiting {
            let (late, onTime) = (queue.filter { $0.deadline <= now }, queue.filter { $0.deadline > now })
            expired += late.map(\.id)
            waiting[organisation] = onTime.isEmpty ? nil : onTime
        }
        for id in expired { arrival[id] = nil }
        return expired
    }

    /// The earliest deadline among the waiters, for the caller's expiry timer.
    public var nextDeadline: ContinuousClock.Instant? {
        waiting.values.compactMap { $0.first?.deadline }.min()
    }

    /// When `wake` next has something to do: the earliest deadline, or the earliest instant a waiting
    /// organisation has database time again.
    public func nextWake(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let refills = time.map { time in
            waiting.keys.compactMap { time.availableAt($0, now: now) }
        } ?? []
        return (refills + [nextDeadline].compactMap { $0 }).min()
    }

    /// Admits as many waiters as there is room for, each time from the organisation holding the fewest. (A
    /// waiting organisation whose limit shrank under contention waits for its own calls to finish.)
    mutating func admitWaiting(now: ContinuousClock.Instant) -> [WaiterID] {
        var admitted: [WaiterID] = []
        while inUse < capacity {
            let candidates = waiting.filter { !$0.value.isEmpty && mayStart($0.key, now: now) }
            guard let (organisation, queue) = candidates.min(by: { lhs, rhs in
                let (left, right) = (holding(lhs.key), holding(rhs.key))
                return left != right ? left < right : arrival[lhs.value[0].id]! < arrival[rhs.value[0].id]!
            }) else { break }
            let head = queue[0]
            waiting[organisation] = queue.count > 1 ? Array(queue.dropFirst()) : nil
            arrival[head.id] = nil
            start(organisation, waiter: head.id, now: now)
            admitted.append(head.id)
        }
        return admitted
    }
}
