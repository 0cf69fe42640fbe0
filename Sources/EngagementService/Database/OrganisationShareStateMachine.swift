import Foundation

/// Fair shares of the database pool between organisations: the rules, as a plain state machine that returns
/// actions (tested without a database; `OrganisationShares` runs it).
///
/// - At most `capacity` calls hold a database connection at once (the pool's size, so the pool itself never
///   queues), and at most `perOrganisation` of them belong to one organisation: a flood from one organisation
///   always leaves the others `capacity − perOrganisation` connections.
/// - When a connection frees up it goes to the waiting organisation that holds the fewest connections (ties:
///   the one whose first waiter came first), not to whoever asked first: one organisation's backlog never stands
///   in front of another's calls.
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
    public let perOrganisation: Int
    private(set) var inUse = 0
    private(set) var held: [Organisation: Int] = [:]
    /// Waiters per organisation, first come first; `order` remembers when each organisation's head arrived.
    private var waiting: [Organisation: [Waiter]] = [:]
    private var arrival: [WaiterID: UInt64] = [:]
    private var nextArrival: UInt64 = 0

    public init(capacity: Int, perOrganisation: Int) {
        precondition(capacity > 0 && perOrganisation > 0)
        self.capacity = capacity
        self.perOrganisation = min(perOrganisation, capacity)
    }

    public var waiterCount: Int { waiting.values.reduce(0) { $0 + $1.count } }
    public func holding(_ organisation: Organisation) -> Int { held[organisation] ?? 0 }

    func admissible(_ organisation: Organisation) -> Bool {
        inUse < capacity && holding(organisation) < perOrganisation
    }

    /// A call of `organisation` wants a connection. It proceeds at once only when nobody of its organisation is
    /// already waiting (no overtaking within an organisation) and there is room.
    public mutating func acquire(_ organisation: Organisation, waiter: WaiterID, deadline: ContinuousClock.Instant) -> AcquireAction {
        if waiting[organisation, default: []].isEmpty, admissible(organisation) {
            inUse += 1
            held[organisation, default: 0] += 1
            return .proceed
        }
        waiting[organisation, default: []].append(Waiter(id: waiter, deadline: deadline))
        arrival[waiter] = nextArrival
        nextArrival += 1
        return .wait
    }

    /// A call of `organisation` gave its connection back: the waiters to admit now (at most one).
    public mutating func release(_ organisation: Organisation) -> [WaiterID] {
        inUse -= 1
        let remaining = holding(organisation) - 1
        held[organisation] = remaining > 0 ? remaining : nil
        return admitWaiting()
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

    /// Admits as many waiters as there is room for, each time from the organisation holding the fewest.
    mutating func admitWaiting() -> [WaiterID] {
        var admitted: [WaiterID] = []
        while inUse < capacity {
            let candidates = waiting.filter { !$0.value.isEmpty && holding($0.key) < perOrganisation }
            guard let (organisation, queue) = candidates.min(by: { lhs, rhs in
                let (left, right) = (holding(lhs.key), holding(rhs.key))
                return left != right ? left < right : arrival[lhs.value[0].id]! < arrival[rhs.value[0].id]!
            }) else { break }
            let head = queue[0]
            waiting[organisation] = queue.count > 1 ? Array(queue.dropFirst()) : nil
            arrival[head.id] = nil
            inUse += 1
            held[organisation, default: 0] += 1
            admitted.append(head.id)
        }
        return admitted
    }
}
